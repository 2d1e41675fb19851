// predict_with into a caller's out (the Python binding's Network.predict): the bits of the
// network's own pass into out, the path it replaced, within a block of rows and past one.
#include <doctest/doctest.h>

#include <cstddef>
#include <vector>

#include "core/row_chunks.hpp"
#include "gemm/parallel.hpp"
#include "nobias/model.hpp"
#include "nobias/network.hpp"
#include "test_support.hpp"

using namespace test_support;

namespace {

const std::vector<std::size_t> kWidths = {37, 301, 13, 7};

}  // namespace

TEST_CASE_TEMPLATE("predict_into.has_the_bits_of_network_predict_into_out", T, float, double) {
  nobias::Network<T> net(random_weights<T>(kWidths, 31, 2.0));
  const nobias::Standardization s = varied_statistics(kWidths.front());
  const std::size_t block = nobias::detail::block_rows<T>(kWidths);
  // 700 and 2000 rows: within a block, but cut into several of Network's pieces, which the
  // blocked pass (and its team) takes one block a piece.
  for (const std::size_t rows : {std::size_t(1), std::size_t(13), std::size_t(700),
                                 std::size_t(2000), block, 2 * block + 193}) {
    CAPTURE(rows);
    if (rows == 700) CHECK(nobias::detail::row_pieces<T>(rows, kWidths) > 1);
    const nobias::Matrix<T> x = random_matrix<T>(rows, kWidths.front(), 32 + rows);
    nobias::Matrix<T> standardized = nobias::Matrix<T>::copy_of(x.view());
    nobias::standardize_x<T>(s, standardized.view());
    for (const bool with_statistics : {false, true}) {
      CAPTURE(with_statistics);
      const nobias::Standardization& used = with_statistics ? s : nobias::Standardization{};
      nobias::Matrix<T> expected(rows, kWidths.back()), out(rows, kWidths.back());
      net.predict((with_statistics ? standardized : x).view(), expected.view());
      nobias::predict_with<T>(net, used, x.view(), out.view());
      CHECK(same_bits(out, expected));
      CHECK(same_bits(nobias::predict_with<T>(net, used, x.view()), expected));
    }
  }
}

TEST_CASE_TEMPLATE("predict_into.refuses_a_wrong_or_overlapping_out", T, float, double) {
  const nobias::Network<T> net(random_weights<T>(kWidths, 33, 2.0));
  const nobias::Standardization none;
  nobias::Matrix<T> x = random_matrix<T>(5, kWidths.front(), 34);
  nobias::Matrix<T> out(4, kWidths.back());
  CHECK_THROWS_WITH_AS(nobias::predict_with<T>(net, none, x.view(), out.view()),
                       "predict_with: out is 4x7, expected 5x7", nobias::ShapeError);
  // out over x's own memory: the first rows' predictions would land on rows still read.
  const nobias::MatrixView<T> over_x(x.data(), 5, kWidths.back(), kWidths.front());
  CHECK_THROWS_AS(nobias::predict_with<T>(net, none, x.view(), over_x), nobias::ValueError);
  CHECK_THROWS_AS(nobias::predict_with<T>(net, none, nobias::Matrix<T>(0, 37).view(),
                                          nobias::Matrix<T>(0, 7).view()),
                  nobias::ShapeError);
}

// Interruption points (nobias/interrupt.hpp): a caller's check that throws stops a large
// write_npy between its pieces, removing the temporary and leaving the old file, and a
// prediction over many rows between its blocks; checks nest, and without one nothing changes.
#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "core/row_chunks.hpp"
#include "nobias/interrupt.hpp"
#include "nobias/matrix.hpp"
#include "nobias/model.hpp"
#include "nobias/network.hpp"
#include "nobias/npy.hpp"
#include "one_pass.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using namespace test_support;
using nobias::Interruption;

namespace {

struct Stopped {};

const std::vector<std::size_t> kWidths = {37, 301, 13, 7};

}  // namespace

TEST_CASE("interrupt.a_large_write_stops_between_pieces_and_leaves_the_old_file") {
  TempDir dir("interrupt");
  const std::string path = dir.file("x.npy");
  write_bytes(path, "old contents");
  // 24 MB: more than one piece (16 MiB) of the temporary's writes.
  const nobias::Matrix<double> x(3000, 1000);
  std::vector<Interruption> seen;
  {
    const nobias::ScopedInterruptCheck check([&](Interruption why) {
      seen.push_back(why);
      throw Stopped{};
    });
    CHECK_THROWS_AS(nobias::write_npy<double>(path, x.view()), Stopped);
  }
  CHECK(seen == std::vector<Interruption>{Interruption::Periodic});
  CHECK(read_bytes(path) == "old contents");
  CHECK(dir.names() == std::vector<std::string>{"x.npy"});  // no temporary left
  // A check that lets it go on: the whole file, as without one.
  {
    const nobias::ScopedInterruptCheck check([&](Interruption) {});
    nobias::write_npy<double>(path, x.view());
  }
  CHECK(nobias::read_npy<double>(path).rows() == 3000);
  CHECK(dir.names() == std::vector<std::string>{"x.npy"});
}

TEST_CASE_TEMPLATE("interrupt.a_long_prediction_stops_between_blocks", T, float, double) {
  nobias::Network<T> net(random_weights<T>(kWidths, 3, 2.0));
  const std::size_t rows = 6 * nobias::detail::block_rows<T>(kWidths);
  const nobias::Matrix<T> x = random_matrix<T>(rows, kWidths.front(), 5);
  nobias::Matrix<T> out(rows, kWidths.back());
  int calls = 0;
  {
    const nobias::ScopedInterruptCheck check([&](Interruption why) {
      CHECK(why == Interruption::Periodic);
      if (++calls == 1) throw Stopped{};
    });
    CHECK_THROWS_AS(nobias::predict_into<T>(net, {}, x.view(), out.view()), Stopped);
  }
  CHECK(calls == 1);
  // Checks that let it go on change no bit; without one, none is called.
  {
    const nobias::ScopedInterruptCheck check([&](Interruption) { ++calls; });
    nobias::predict_into<T>(net, {}, x.view(), out.view());
  }
  CHECK(calls > 1);
  CHECK(same_bits(out, one_pass_predict<T>(net, x.view())));
  const int before = calls;
  nobias::predict_into<T>(net, {}, x.view(), out.view());
  CHECK(calls == before);
}

TEST_CASE("interrupt.checks_nest_and_belong_to_their_thread") {
  std::vector<std::string> seen;
  CHECK_FALSE(nobias::interrupt_check_installed());
  nobias::interruption_point(Interruption::Signal);  // none: nothing happens
  {
    const nobias::ScopedInterruptCheck outer([&](Interruption) { seen.push_back("outer"); });
    {
      const nobias::ScopedInterruptCheck inner([&](Interruption) { seen.push_back("inner"); });
      nobias::interruption_point(Interruption::Signal);
    }
    nobias::interruption_point(Interruption::Periodic);
    CHECK(nobias::interrupt_check_installed());
  }
  CHECK_FALSE(nobias::interrupt_check_installed());
  CHECK(seen == std::vector<std::string>{"inner", "outer"});
}

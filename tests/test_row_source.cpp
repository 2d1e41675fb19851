// RowSource (include/nobias/row_source.hpp): training on listed rows of x and y, standardized
// as they are read, is training on a standardized copy of those rows, bit for bit: the
// gathered rows, fit's weights and losses, the full-data loss and the data fingerprint.
#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

#include "nobias/checkpoint.hpp"
#include "nobias/fit.hpp"
#include "nobias/full_pass.hpp"
#include "nobias/names.hpp"
#include "nobias/row_source.hpp"
#include "nobias/targets.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using namespace test_support;

namespace {

// Statistics far from the data's own, so that a missed standardization shows.
nobias::Standardization some_statistics(std::size_t d_in, std::size_t d_out) {
  nobias::Standardization s;
  for (std::size_t j = 0; j < d_in; ++j) {
    s.x_mean.push_back(0.3 * static_cast<double>(j % 7) - 1.0);
    s.x_scale.push_back(0.7 + 0.1 * static_cast<double>(j % 5));
  }
  for (std::size_t j = 0; j < d_out; ++j) {
    s.y_mean.push_back(2.0 - static_cast<double>(j));
    s.y_scale.push_back(3.0 + static_cast<double>(j));
  }
  return s;
}

// Every third row and then some, out of order: positions that are not a prefix.
std::vector<std::size_t> some_rows(std::size_t rows) {
  std::vector<std::size_t> listed;
  for (std::size_t i = rows; i-- > 0;)
    if (i % 3 != 1) listed.push_back(i);
  return listed;
}

// The listed rows of m, standardized by (mean, scale) as standardize_x does: the copy the
// command line made before RowSource.
template <class T>
nobias::Matrix<T> copied(const nobias::Matrix<T>& m, const std::vector<std::size_t>& rows,
                         const nobias::Standardization& s, bool is_x) {
  nobias::Matrix<T> out(rows.size(), m.cols());
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < m.cols(); ++j)
      out(i, j) = m(rows[i], j);
  if (is_x) {
    nobias::standardize_x<T>(s, out.view());
  } else {
    nobias::standardize_y<T>(s, out.view());
  }
  return out;
}

}  // namespace

TEST_CASE_TEMPLATE("row_source.gather_reads_the_listed_rows_standardized", T, float, double) {
  const auto x = random_matrix<T>(41, 13, 1, 5.0), y = random_matrix<T>(41, 3, 2, 4.0);
  const nobias::Standardization s = some_statistics(13, 3);
  const std::vector<std::size_t> rows = some_rows(41);
  const nobias::RowSource<T> source(x.view(), y.view(), &rows, &s);
  CHECK(source.rows() == rows.size());
  CHECK_FALSE(source.in_place());
  const nobias::Matrix<T> want_x = copied(x, rows, s, true), want_y = copied(y, rows, s, false);
  // Positions 5.. in a given order, as a shuffled epoch's batch reads them.
  const std::vector<std::size_t> order = {3, 0, 20, 7, 7, 26, 1};
  nobias::Matrix<T> bx(5, 13), by(5, 3);
  source.gather(bx.view(), by.view(), order.data(), 2);
  for (std::size_t i = 0; i < 5; ++i) {
    CAPTURE(i);
    CHECK(same_bits<T>(bx.row_block(i, 1), want_x.row_block(order[2 + i], 1)));
    CHECK(same_bits<T>(by.row_block(i, 1), want_y.row_block(order[2 + i], 1)));
  }
  // Without an order: consecutive positions.
  source.gather(bx.view(), by.view(), nullptr, 9);
  CHECK(same_bits<T>(bx.view(), want_x.row_block(9, 5)));
  CHECK(same_bits<T>(by.view(), want_y.row_block(9, 5)));
  // Neither list nor statistics: x's and y's own rows.
  const nobias::RowSource<T> plain(x.view(), y.view());
  CHECK(plain.in_place());
  CHECK(plain.rows() == 41);
}

TEST_CASE_TEMPLATE("row_source.refuses_what_does_not_fit", T, float, double) {
  const auto x = random_matrix<T>(6, 4, 1), y = random_matrix<T>(6, 2, 2);
  const std::vector<std::size_t> past = {0, 6};
  CHECK_ERROR(nobias::ValueError, nobias::RowSource<T>(x.view(), y.view(), &past),
              "RowSource: position 1 names row 6, but x has 6 rows");
  const auto short_y = random_matrix<T>(5, 2, 3);
  CHECK_ERROR(nobias::ShapeError, nobias::RowSource<T>(x.view(), short_y.view()),
              "RowSource: x is 6x4 but y is 5x2; expected as many rows");
  const nobias::Standardization wide = some_statistics(5, 2);
  CHECK_ERROR(nobias::ValueError, nobias::RowSource<T>(x.view(), y.view(), nullptr, &wide),
              "x_mean has 5 values, expected 4");
}

TEST_CASE_TEMPLATE("row_source.fit_on_listed_standardized_rows_is_fit_on_their_copy", T, float,
                   double) {
  const std::size_t n = 67;
  const auto x = random_matrix<T>(n, 11, 3, 4.0), y = random_matrix<T>(n, 3, 4, 2.0);
  const auto val_x = random_matrix<T>(9, 11, 5), val_y = random_matrix<T>(9, 3, 6);
  const nobias::Standardization s = some_statistics(11, 3);
  const std::vector<std::size_t> rows = some_rows(n);
  const nobias::Matrix<T> copy_x = copied(x, rows, s, true), copy_y = copied(y, rows, s, false);
  for (const bool shuffle : {true, false}) {
    for (const std::size_t batch : {std::size_t(8), std::size_t(0)}) {
      CAPTURE(shuffle);
      CAPTURE(batch);
      nobias::OptimizerConfig config;
      config.kind = nobias::OptimizerKind::Adam;
      config.learning_rate = 1e-2;
      nobias::FitOptions options;
      options.epochs = 3;
      options.batch_size = batch;
      options.shuffle = shuffle;
      options.seed = 17;
      options.reduction = nobias::Reduction::Mean;
      nobias::Network<T> net_copy({11, 13, 3}, 2, nobias::Init::He), net_rows(net_copy);
      nobias::Optimizer<T> opt_copy(config, net_copy), opt_rows(config, net_rows);
      const nobias::FitResult a =
          nobias::fit<T>(net_copy, opt_copy, {copy_x, copy_y, val_x, val_y}, options);
      nobias::FitData<T> data{x, y, val_x, val_y};
      data.rows = &rows;
      data.standardization = &s;
      const nobias::FitResult b = nobias::fit<T>(net_rows, opt_rows, data, options);
      CHECK(same_bits(net_rows.weights(), net_copy.weights()));
      CHECK(b.final_loss == a.final_loss);
      CHECK(b.epochs.back().train_loss == a.epochs.back().train_loss);
      CHECK(b.steps == a.steps);
    }
  }
}

TEST_CASE_TEMPLATE("row_source.full_loss_predict_and_fingerprint_are_those_of_the_copy", T, float,
                   double) {
  // Past several of full_loss's blocks, so that the rows go through the network gathered.
  const std::vector<std::size_t> widths = {37, 301, 13, 7};
  const nobias::Network<T> fixed(random_weights<T>(widths, 11, 2.0));
  for (const std::size_t n : {std::size_t(50), std::size_t(40000)}) {
    CAPTURE(n);
    const auto x = random_matrix<T>(n, 37, 7, 3.0), y = random_matrix<T>(n, 7, 8);
    const nobias::Standardization s = some_statistics(37, 7);
    const std::vector<std::size_t> rows = some_rows(n);
    const nobias::Matrix<T> copy_x = copied(x, rows, s, true), copy_y = copied(y, rows, s, false);
    const nobias::RowSource<T> source(x.view(), y.view(), &rows, &s);
    for (const auto reduction : {nobias::Reduction::Sum, nobias::Reduction::Mean}) {
      nobias::Network<T> a(fixed), b(fixed);
      CHECK(nobias::full_loss<T>(b, source, reduction) ==
            nobias::full_loss<T>(a, copy_x.view(), copy_y.view(), reduction));
    }
    const nobias::Matrix<T> want = fixed.predict(copy_x.view());
    CHECK(same_bits<T>(nobias::full_predict<T>(fixed, source).view(), want.view()));
    CHECK(same_bits<T>(nobias::full_predict<T>(fixed, {copy_x.view(), copy_y.view()}).view(),
                       want.view()));
    const nobias::DataFingerprint f = nobias::fingerprint_data<T>(source, "prepared");
    const nobias::DataFingerprint g = nobias::fingerprint_data<T>(copy_x, copy_y, "prepared");
    CHECK(f.rows == g.rows);
    CHECK(f.x_hash == g.x_hash);
    CHECK(f.y_hash == g.y_hash);
    CHECK(nobias::data_difference(g, f).empty());
  }
}

TEST_CASE_TEMPLATE("row_source.statistics_of_listed_rows_are_those_of_the_copy", T, float, double) {
  const auto x = random_matrix<T>(29, 6, 9, 3.0), y = random_matrix<T>(29, 2, 10);
  const std::vector<std::size_t> rows = some_rows(29);
  const nobias::Standardization none;
  const nobias::Standardization a = nobias::fit_standardization<T>(
      copied(x, rows, none, true).view(), copied(y, rows, none, false).view());
  const nobias::Standardization b = nobias::fit_standardization<T>(x.view(), y.view(), &rows);
  CHECK(a.x_mean == b.x_mean);
  CHECK(a.x_scale == b.x_scale);
  CHECK(a.y_mean == b.y_mean);
  CHECK(a.y_scale == b.y_scale);
  const std::vector<std::size_t> past = {3, 29};
  CHECK_ERROR(nobias::ValueError, nobias::fit_standardization<T>(x.view(), y.view(), &past),
              "fit_standardization: row 29 listed, but x has 29 rows");
}

// A validation set read where it lies (FitData::validation: rows held out of x, standardized as
// they are read) validates as its standardized copy did, bit for bit: every epoch's loss, early
// stopping's verdict, the weights kept. Past full_loss's blocks (12288 rows of these widths),
// so that the validation rows also go through the network gathered a block at a time.
TEST_CASE_TEMPLATE("row_source.validation_on_listed_rows_is_validation_on_their_copy", T, float,
                   double) {
  const std::size_t n = 19000;
  const auto x = random_matrix<T>(n, 11, 12, 4.0), y = random_matrix<T>(n, 3, 13, 2.0);
  const nobias::Standardization s = some_statistics(11, 3);
  std::vector<std::size_t> train, held;  // every third row trains, the rest validate
  for (std::size_t i = n; i-- > 0;)
    (i % 3 == 0 ? train : held).push_back(i);
  const nobias::Matrix<T> val_x = copied(x, held, s, true), val_y = copied(y, held, s, false);
  const nobias::RowSource<T> validation(x.view(), y.view(), &held, &s);
  for (const auto reduction : {nobias::Reduction::Sum, nobias::Reduction::Mean}) {
    INFO(nobias::to_name(reduction));
    nobias::OptimizerConfig config;
    config.kind = nobias::OptimizerKind::Adam;
    config.learning_rate = 0.05;
    nobias::FitOptions options;
    options.epochs = 6;
    options.batch_size = 1024;
    options.seed = 5;
    options.reduction = reduction;
    options.early_stopping.patience = 2;
    // The validation loss falls every epoch, by less and less: a tolerance (in the reduction's
    // units) that epochs 4 and 5 do not beat stops the run after epoch 5, keeping epoch 3's
    // weights, so that the weights put back are compared too.
    options.early_stopping.tolerance = reduction == nobias::Reduction::Sum ? 15000.0 : 0.4;
    nobias::Network<T> net_copy({11, 13, 3}, 2, nobias::Init::He), net_rows(net_copy);
    nobias::Optimizer<T> opt_copy(config, net_copy), opt_rows(config, net_rows);
    nobias::FitData<T> copy{x, y, val_x, val_y};
    copy.rows = &train;
    copy.standardization = &s;
    nobias::FitData<T> rows{x, y};
    rows.rows = &train;
    rows.standardization = &s;
    rows.validation = &validation;
    const nobias::FitResult a = nobias::fit<T>(net_copy, opt_copy, copy, options);
    const nobias::FitResult b = nobias::fit<T>(net_rows, opt_rows, rows, options);
    REQUIRE(b.epochs.size() == a.epochs.size());
    for (std::size_t e = 0; e < a.epochs.size(); ++e) {
      CAPTURE(e);
      CHECK(b.epochs[e].validation_loss == a.epochs[e].validation_loss);
      CHECK(b.epochs[e].best_epoch == a.epochs[e].best_epoch);
    }
    // Early stopping acted: the run stopped before its last epoch and kept an earlier one.
    CHECK(a.stopped_early);
    CHECK(a.epochs.back().epoch < options.epochs);
    CHECK(a.kept_epoch < a.epochs.back().epoch);
    CHECK(b.kept_epoch == a.kept_epoch);
    CHECK(b.stopped_early == a.stopped_early);
    CHECK(b.final_loss == a.final_loss);
    CHECK(same_bits(net_rows.weights(), net_copy.weights()));
  }
  // One way of giving a validation set or the other, not both.
  nobias::Network<T> net({11, 13, 3}, 2, nobias::Init::He);
  nobias::Optimizer<T> optimizer(nobias::OptimizerConfig{}, net);
  nobias::FitData<T> both{x, y, val_x, val_y};
  both.validation = &validation;
  CHECK_ERROR(nobias::ValueError, nobias::fit<T>(net, optimizer, both),
              "fit: a validation set in val_x and val_y and in validation; expected one");
}
// Finite data that the statistics standardize past T's range (a tiny scale) is refused before
// any step, naming the row of x where it lies (not its position among the rows read), the
// column and the statistics: otherwise a step reports an infinity in an x given finite, or a
// validation pass a loss that reads as divergence.
TEST_CASE_TEMPLATE("row_source.fit_refuses_values_standardized_past_the_dtype", T, float, double) {
  const bool f32 = std::is_same_v<T, float>;
  nobias::Matrix<T> x(6, 3), y(6, 2), val_x(2, 3), val_y(2, 2);
  x(0, 2) = 5;  // not read: row 0 trains nowhere
  x(3, 2) = 2;
  x(5, 0) = 1;  // the safe rows' x is not all 0, which fit refuses (nothing could be learned)
  nobias::Standardization s;
  s.x_mean = {0, 0, 0};
  // Finite and > 0, but 2 / scale is past T's max (in float64, past double's: inf).
  s.x_scale = {1, 1, f32 ? 1e-40 : 1e-310};
  const std::string dtype = f32 ? "float32" : "float64";
  const std::string scale = f32 ? "1e-40" : "1e-310", two = f32 ? "2e+40" : "inf";
  const std::vector<std::size_t> rows = {4, 3, 1}, safe = {5, 1}, held = {2, 3};
  nobias::Network<T> net({3, 4, 2}, 2, nobias::Init::He);
  nobias::Optimizer<T> optimizer(nobias::OptimizerConfig{}, net);
  nobias::FitData<T> data{x, y};
  data.rows = &rows;
  data.standardization = &s;
  CHECK_ERROR(nobias::ValueError, nobias::fit<T>(net, optimizer, data),
              "fit: x row 3, column 2 is 2, which standardizes to " + two + " (x_mean 0, x_scale " +
                  scale + "), past " + dtype + "'s range");
  // Validation rows held out of x are rows of x; those of another array are its own.
  data.rows = &safe;
  const nobias::RowSource<T> from_x(x.view(), y.view(), &held, &s);
  data.validation = &from_x;
  CHECK_ERROR(nobias::ValueError, nobias::fit<T>(net, optimizer, data),
              "fit: x row 3, column 2 is 2, which standardizes to " + two);
  val_x(1, 2) = -2;
  const nobias::RowSource<T> other(val_x.view(), val_y.view(), nullptr, &s);
  data.validation = &other;
  CHECK_ERROR(nobias::ValueError, nobias::fit<T>(net, optimizer, data),
              "fit: validation x row 1, column 2 is -2, which standardizes to -" + two);
  // y's statistics too.
  nobias::Standardization sy;
  sy.y_mean = {0, f32 ? -1e38 : -1e308};
  sy.y_scale = {1, 0.25};
  nobias::FitData<T> ys{x, y};
  ys.standardization = &sy;
  CHECK_ERROR(nobias::ValueError, nobias::fit<T>(net, optimizer, ys),
              std::string("fit: y row 0, column 1 is 0, which standardizes to ") +
                  (f32 ? "4e+38" : "inf") + " (y_mean " + (f32 ? "-1e+38" : "-1e+308") +
                  ", y_scale 0.25)");
  // Values in range train; fit's own words for listed rows and statistics that do not fit.
  data.validation = nullptr;
  s.x_scale[2] = 1;
  CHECK_NOTHROW(nobias::fit<T>(net, optimizer, data));
  const std::vector<std::size_t> past = {1, 9};
  data.rows = &past;
  CHECK_ERROR(nobias::ValueError, nobias::fit<T>(net, optimizer, data),
              "fit: rows position 1 names row 9, but x has 6 rows");
  data.rows = nullptr;
  s.x_mean.clear();
  CHECK_ERROR(nobias::ValueError, nobias::fit<T>(net, optimizer, data),
              "fit: x_scale given without x_mean; expected both or neither");
}

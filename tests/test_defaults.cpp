#include <doctest/doctest.h>

#include "nobias/defaults.hpp"
#include "nobias/error.hpp"
#include "nobias/targets.hpp"

using nobias::defaults::early_stopping_rows;
using nobias::defaults::kMinValidationRows;

TEST_CASE("defaults.early_stopping_rows.hold_out_a_tenth_only_when_it_is_20_rows_or_more") {
  // 195 rows: a tenth rounds to 20 (19.5, halves away from 0): held out. 194: 19, too few to
  // stop on, so none: every row trains.
  CHECK(early_stopping_rows(195) == nobias::validation_rows(195, 0.1));
  CHECK(early_stopping_rows(195) == kMinValidationRows);
  CHECK(early_stopping_rows(194) == 0);
  CHECK(early_stopping_rows(40000) == 4000);
  CHECK(early_stopping_rows(0) == 0);
  // Another fraction: the same minimum; a split that leaves nothing to train on holds none.
  CHECK(early_stopping_rows(100, 0.2) == 20);
  CHECK(early_stopping_rows(100, 0.19) == 0);
  CHECK(early_stopping_rows(30, 1.0) == 0);
  CHECK_THROWS_AS(early_stopping_rows(100, 1.5), nobias::ValueError);
}

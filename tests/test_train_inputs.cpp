// What nobias-train and nobias-train-mpi (every rank) train on, as assemble() reads it: --x of
// the dtype trained, in C order, stays a mapped file (one copy in the page cache for all the
// processes that read it), whatever the split and the standardization, and so do the held-out
// validation rows and a --val-x: they are read from the file, standardized as they are read.
// Another dtype is read and converted.
#include <doctest/doctest.h>

#include <cstddef>
#include <vector>

#include "nobias/npy.hpp"
#include "problem.hpp"
#include "test_support.hpp"

using namespace nobias_tools;

TEST_CASE_TEMPLATE("train_inputs.x_is_mapped_with_a_split_and_standardization", T, float, double) {
  const test_support::TempDir dir("train-inputs");
  const auto x = test_support::random_matrix<T>(300, 5, 1, 3.0);
  const auto y = test_support::random_matrix<T>(300, 2, 2);
  nobias::write_npy(dir.file("x.npy"), x);
  nobias::write_npy(dir.file("y.npy"), y);
  nobias::write_npy(
      dir.file("other.npy"),
      test_support::random_matrix<std::conditional_t<std::is_same_v<T, float>, double, float>>(
          300, 5, 3));
  TrainOptions o;
  o.dtype = std::is_same_v<T, float> ? Dtype::F32 : Dtype::F64;
  o.x_path = dir.file("x.npy");
  o.y_path = dir.file("y.npy");
  o.task = Task::Regress;
  o.epochs = 2;
  o.validation_fraction = 0.2;
  o.validation_fraction_given = true;
  o.standardize = true;
  const Problem<T> p = assemble<T>(o);
  CHECK(p.data->x.mapped());
  CHECK(p.data->x.rows() == 300);  // every row, the held-out ones listed out
  CHECK(p.train_rows.size() == 240);
  CHECK_FALSE(p.validation.has_value());  // no --val-x
  CHECK(p.held_out.size() == 60);
  CHECK(validates(p));
  // The held-out rows are read from the mapped file, standardized as they are read: no copy.
  CHECK(validation_source(p).rows() == 60);
  CHECK(validation_source(p).standardizes());
  CHECK(validation_source(p).x().data() == p.data->x.view().data());
  CHECK(validation_targets(p).rows() == 60);
  CHECK(training_rows(p).rows() == 240);
  CHECK(training_rows(p).standardizes());
  // The other dtype: converted into memory.
  o.x_path = dir.file("other.npy");
  CHECK_FALSE(assemble<T>(o).data->x.mapped());
  // A --val-x of the dtype trained: mapped too, standardized as it is read.
  nobias::write_npy(dir.file("vx.npy"), test_support::random_matrix<T>(40, 5, 4));
  nobias::write_npy(dir.file("vy.npy"), test_support::random_matrix<T>(40, 2, 5));
  o.x_path = dir.file("x.npy");
  o.val_x_path = dir.file("vx.npy");
  o.val_y_path = dir.file("vy.npy");
  o.validation_fraction = 0.0;
  o.validation_fraction_given = false;
  const Problem<T> q = assemble<T>(o);
  REQUIRE(q.validation.has_value());
  CHECK(q.validation->x.mapped());
  CHECK(q.held_out.empty());
  CHECK(validation_source(q).rows() == 40);
  CHECK(validation_source(q).standardizes());
  CHECK(validation_source(q).x().data() == q.validation->x.view().data());
  CHECK(validation_targets(q).data() == q.validation->y.view().data());
}

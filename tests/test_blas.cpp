#include <doctest/doctest.h>

#include "nobias/blas.hpp"
#include "nobias/error.hpp"
#include "reference/reference.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::MatrixView;
using nobias::Op;
using test_support::max_relative_error;
using test_support::random_matrix;

TEST_CASE_TEMPLATE("blas.gemm.matches_triple_loop", T, float, double) {
  // m, k, n all different and odd, so a swapped dimension or stride cannot pass.
  const std::size_t m = 7, k = 13, n = 37;
  for (Op op_a : {Op::N, Op::T}) {
    for (Op op_b : {Op::N, Op::T}) {
      for (const auto& [alpha, beta] :
           {std::pair{1.0, 0.0}, std::pair{-0.5, 1.0}, std::pair{2.0, 0.25}}) {
        CAPTURE(op_a == Op::T);
        CAPTURE(op_b == Op::T);
        CAPTURE(alpha);
        CAPTURE(beta);
        const Matrix<T> a = op_a == Op::N ? random_matrix<T>(m, k, 1) : random_matrix<T>(k, m, 1);
        const Matrix<T> b = op_b == Op::N ? random_matrix<T>(k, n, 2) : random_matrix<T>(n, k, 2);
        Matrix<T> c = random_matrix<T>(m, n, 3);
        Matrix<T> expected = c;
        nobias::gemm(op_a, a, op_b, b, T(alpha), T(beta), c);
        reference::gemm<T>(op_a, a, op_b, b, T(alpha), T(beta), expected);
        CHECK(max_relative_error<T>(c, expected) <= test_support::tolerance<T>(k));
      }
    }
  }
}

TEST_CASE_TEMPLATE("blas.gemm.beta_zero_ignores_nan_in_c", T, float, double) {
  const Matrix<T> a = random_matrix<T>(5, 3, 4), b = random_matrix<T>(3, 9, 5);
  Matrix<T> c(5, 9), expected(5, 9);
  for (std::size_t i = 0; i < c.size(); ++i)
    c.data()[i] = T(NAN);
  nobias::gemm(Op::N, a, Op::N, b, T(1), T(0), c);
  reference::gemm<T>(Op::N, a, Op::N, b, T(1), T(0), expected);
  CHECK(max_relative_error<T>(c, expected) <= test_support::tolerance<T>(3));
}

TEST_CASE_TEMPLATE("blas.gemm.works_on_row_blocks", T, float, double) {
  const Matrix<T> a = random_matrix<T>(11, 6, 6), b = random_matrix<T>(6, 5, 7);
  Matrix<T> c(4, 5), expected(4, 5);
  nobias::gemm(Op::N, a.row_block(3, 4), Op::N, b, T(1), T(0), c);
  reference::gemm<T>(Op::N, a.row_block(3, 4), Op::N, b, T(1), T(0), expected);
  CHECK(max_relative_error<T>(c, expected) <= test_support::tolerance<T>(6));
}

TEST_CASE_TEMPLATE("blas.gemm.shape_mismatch_names_both_shapes", T, float, double) {
  const Matrix<T> a(7, 13), b(12, 5);
  Matrix<T> c(7, 5);
  CHECK_THROWS_WITH_AS(nobias::gemm(Op::N, a, Op::N, b, T(1), T(0), c),
                       "gemm: a 7x13 times b 12x5 does not fit c 7x5", nobias::ShapeError);
  const Matrix<T> b_ok(13, 5);
  Matrix<T> c_bad(7, 6);
  CHECK_THROWS_WITH_AS(nobias::gemm(Op::T, a, Op::N, b_ok, T(1), T(0), c_bad),
                       "gemm: a^T 13x7 times b 13x5 does not fit c 7x6", nobias::ShapeError);
}

TEST_CASE_TEMPLATE("blas.gemm.empty_inner_dimension_scales_c", T, float, double) {
  const Matrix<T> a(4, 0), b(0, 3);
  Matrix<T> c = random_matrix<T>(4, 3, 8);
  const Matrix<T> before = c;
  nobias::gemm(Op::N, a, Op::N, b, T(1), T(0.5), c);
  for (std::size_t i = 0; i < c.size(); ++i)
    CHECK(c.data()[i] == T(0.5) * before.data()[i]);
}

// Restores the automatic policy however a test ends.
struct AutomaticThreadsAfterwards {
  ~AutomaticThreadsAfterwards() { nobias::set_threads(0); }
};

TEST_CASE("blas.threads.policy") {
  AutomaticThreadsAfterwards restore;
  CHECK_THROWS_WITH_AS(nobias::set_threads(-1),
                       "set_threads: expected 0 (automatic) or a thread count >= 1, got -1",
                       nobias::ValueError);
  REQUIRE(nobias::available_threads() >= 1);

  nobias::set_threads(0);
  CHECK(nobias::threads_setting() == 0);
  const int all = nobias::available_threads();
  CHECK(nobias::threads_for(1, 100, 1000) == 1);   // one row: nothing to share
  CHECK(nobias::threads_for(1000, 100, 16) == 1);  // too shallow
  CHECK(nobias::threads_for(16, 100, 1000) == 1);  // too little work
  CHECK(nobias::threads_for(256, 100, 100) == all);
  CHECK(nobias::threads_for(256, 100, 1000) == all);

  nobias::set_threads(3);  // more than the CPUs is allowed for products; steps cap it
  CHECK(nobias::threads_setting() == 3);
  CHECK(nobias::threads_for(1, 1, 1) == 3);
  CHECK(nobias::threads_for(4096, 4096, 4096) == 3);
}

TEST_CASE_TEMPLATE("blas.gemm.same_result_on_any_thread_count", T, float, double) {
  AutomaticThreadsAfterwards restore;
  // Large enough that the automatic policy uses every thread.
  const Matrix<T> a = random_matrix<T>(301, 203, 11), b = random_matrix<T>(203, 97, 12);
  Matrix<T> expected(301, 97);
  reference::gemm<T>(Op::N, a, Op::N, b, T(1), T(0), expected);
  for (int threads : {0, 1, 2}) {
    CAPTURE(threads);
    nobias::set_threads(threads);
    Matrix<T> c(301, 97);
    nobias::gemm(Op::N, a, Op::N, b, T(1), T(0), c);
    CHECK(max_relative_error<T>(c, expected) <= test_support::tolerance<T>(203));
  }
}

TEST_CASE_TEMPLATE("blas.gemm.rejects_output_overlapping_an_input", T, float, double) {
  Matrix<T> buffer = random_matrix<T>(6, 6, 9);
  const MatrixView<const T> a = buffer.row_block(0, 3);
  const Matrix<T> b = random_matrix<T>(6, 6, 10);
  CHECK_THROWS_WITH_AS(nobias::gemm(Op::N, a, Op::N, b, T(1), T(0), buffer.row_block(2, 3)),
                       "gemm: c overlaps an input; BLAS would read what it is writing",
                       nobias::ValueError);
  CHECK_THROWS_AS(
      nobias::gemm(Op::N, b.row_block(0, 3), Op::N, buffer, T(1), T(0), buffer.row_block(3, 3)),
      nobias::ValueError);
  // Neighbouring rows of one buffer do not overlap.
  nobias::gemm(Op::N, a, Op::N, b, T(1), T(0), buffer.row_block(3, 3));
}

TEST_CASE_TEMPLATE("blas.gemm.works_on_column_blocks", T, float, double) {
  // Operands and output are windows of columns of larger matrices: their rows are ld apart.
  const Matrix<T> big_a = random_matrix<T>(13, 29, 20), big_b = random_matrix<T>(29, 23, 21);
  Matrix<T> big_c = random_matrix<T>(17, 19, 22);
  for (Op op_a : {Op::N, Op::T}) {
    for (Op op_b : {Op::N, Op::T}) {
      CAPTURE(op_a == Op::T);
      CAPTURE(op_b == Op::T);
      // op(a) is 7 x 5, op(b) is 5 x 11, c is 7 x 11.
      const MatrixView<const T> a = op_a == Op::N ? big_a.view().row_block(2, 7).col_block(3, 5)
                                                  : big_a.view().row_block(1, 5).col_block(4, 7);
      const MatrixView<const T> b = op_b == Op::N ? big_b.view().row_block(6, 5).col_block(2, 11)
                                                  : big_b.view().row_block(3, 11).col_block(9, 5);
      MatrixView<T> c = big_c.view().row_block(4, 7).col_block(5, 11);
      Matrix<T> expected = Matrix<T>::copy_of(c);
      const Matrix<T> before = big_c;
      nobias::gemm(op_a, a, op_b, b, T(-0.5), T(1), c);
      reference::gemm<T>(op_a, Matrix<T>::copy_of(a), op_b, Matrix<T>::copy_of(b), T(-0.5), T(1),
                         expected);
      CHECK(max_relative_error<T>(Matrix<T>::copy_of(c), expected) <=
            test_support::tolerance<T>(5));
      // Nothing outside the window changed.
      for (std::size_t i = 0; i < big_c.rows(); ++i)
        for (std::size_t j = 0; j < big_c.cols(); ++j)
          if (i < 4 || i >= 11 || j < 5 || j >= 16) CHECK(big_c(i, j) == before(i, j));
      big_c = before;
    }
  }
}

TEST_CASE_TEMPLATE("blas.gemm.empty_outputs_are_a_no_op", T, float, double) {
  const Matrix<T> a(0, 5), b(5, 3), a_wide(4, 5), b_empty(5, 0);
  Matrix<T> c(0, 3), c_empty(4, 0);
  nobias::gemm(Op::N, a, Op::N, b, T(1), T(0), c);                   // m = 0
  nobias::gemm(Op::N, a_wide, Op::N, b_empty, T(1), T(0), c_empty);  // n = 0
  CHECK(c.empty());
  CHECK(c_empty.empty());
  // Empty operands still have shapes, and they must fit.
  Matrix<T> c_bad(0, 4);
  CHECK_THROWS_WITH_AS(nobias::gemm(Op::N, a, Op::N, b, T(1), T(0), c_bad),
                       "gemm: a 0x5 times b 5x3 does not fit c 0x4", nobias::ShapeError);
}

TEST_CASE_TEMPLATE("blas.gemm.dimension_beyond_the_blas_int_range_throws", T, float, double) {
  // k = 2^31 does not fit BLAS's int. The views are never read: the check comes first. c lies
  // before a and b in one buffer, so the overlap check (which comes earlier) passes.
  const std::size_t k = std::size_t(1) << 31;
  T buffer[2] = {T(0), T(0)};
  const MatrixView<const T> a(buffer + 1, 1, k), b(buffer + 1, k, 1);
  const MatrixView<T> c(buffer, 1, 1);
  CHECK_THROWS_WITH_AS(nobias::gemm(Op::N, a, Op::N, b, T(1), T(0), c),
                       doctest::Contains("exceeds the BLAS integer range"), nobias::ShapeError);
  CHECK(buffer[0] == T(0));
}

#include <doctest/doctest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "nobias/blas.hpp"
#include "nobias/error.hpp"
#include "nobias/network.hpp"
#include "nobias/threads.hpp"
#include "reference/reference.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::MatrixView;
using nobias::Op;
using test_support::AutomaticThreadsAfterwards;
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

TEST_CASE("blas.threads.set_threads_refuses_a_negative_count") {
  AutomaticThreadsAfterwards restore;
  nobias::set_threads(2);
  for (const int bad : {-1, -7, std::numeric_limits<int>::min()}) {
    CAPTURE(bad);
    const std::string expected =
        "set_threads: expected 0 (automatic) or a thread count >= 1, got " + std::to_string(bad);
    CHECK_THROWS_WITH_AS(nobias::set_threads(bad), expected.c_str(), nobias::ValueError);
    CHECK(nobias::threads_setting() == 2);  // the setting before the call stays
  }
}

namespace {

// NOBIAS_THREADS is read only while set_threads() has never been called, which in this
// process it has: the environment's checks run in a fresh copy of this binary, started with
// only the test case below selected and told where to report that it ran.
constexpr const char* kChildCase = "blas.threads.bad_nobias_threads_environment_child";
constexpr const char* kChildMarker = "NOBIAS_TEST_THREADS_CHILD_MARKER";

}  // namespace

TEST_CASE("blas.threads.bad_nobias_threads_environment_child") {
  const char* marker = std::getenv(kChildMarker);
  if (marker == nullptr) return;  // run by the test below, in its own process, only
  { std::ofstream(marker) << "ran\n"; }
  const Matrix<double> a = random_matrix<double>(3, 4, 1), b = random_matrix<double>(4, 5, 2);
  Matrix<double> c(3, 5);
  // Neither "auto" nor a count in [0, 4096]. A bad value is not remembered: each call reads
  // the environment again, until a good value or set_threads().
  // " 2" and "+2" too: strtol alone skips the space and reads the sign.
  for (const std::string bad : {"many", "-1", "4097", "", "2.5", "auto ", " 2", "+2", "2 "}) {
    CAPTURE(bad);
    REQUIRE(::setenv("NOBIAS_THREADS", bad.c_str(), 1) == 0);
    const std::string expected =
        std::string("NOBIAS_THREADS: expected \"auto\", 0 or a thread count, got \"") + bad + "\"";
    CHECK_THROWS_WITH_AS(nobias::threads_setting(), expected.c_str(), nobias::ValueError);
    nobias::Network<double> net({4, 3, 5}, 1);
    CHECK_THROWS_WITH_AS(net.train_step(a, c, 1e-3), expected.c_str(),
                         nobias::ValueError);  // every step asks for the setting
    // Three rows run on the calling thread alone, whichever the setting: refused all the same.
    Matrix<double> out(3, 5);
    CHECK_THROWS_WITH_AS(net.predict(a, out.view()), expected.c_str(), nobias::ValueError);
    CHECK_THROWS_WITH_AS(net.loss(a, c), expected.c_str(), nobias::ValueError);
    const nobias::Network<double>& constant = net;
    CHECK_THROWS_WITH_AS(constant.predict(a), expected.c_str(), nobias::ValueError);
  }
  // Digits alone, leading zeros too (the first good value read is kept for the process).
  REQUIRE(::setenv("NOBIAS_THREADS", "0003", 1) == 0);
  CHECK(nobias::threads_setting() == 3);
  // set_threads() wins over a bad environment.
  nobias::set_threads(2);
  CHECK(nobias::threads_setting() == 2);
  nobias::gemm(Op::N, a, Op::N, b, 1.0, 0.0, c);
  Matrix<double> expected(3, 5);
  reference::gemm<double>(Op::N, a, Op::N, b, 1.0, 0.0, expected);
  CHECK(max_relative_error<double>(c, expected) <= test_support::tolerance<double>(4));
}

TEST_CASE("blas.threads.bad_nobias_threads_environment") {
  test_support::TempDir dir("nobias-threads");
  const std::string marker = dir.file("ran"), log = dir.file("log");
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "NOBIAS_", 7) != 0) environment.emplace_back(*e);
  environment.push_back(std::string(kChildMarker) + "=" + marker);
  std::vector<char*> envp;
  for (std::string& e : environment)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string program = "/proc/self/exe", filter = std::string("--test-case=") + kChildCase;
  char* argv[] = {program.data(), filter.data(), nullptr};

  posix_spawn_file_actions_t actions;
  REQUIRE(posix_spawn_file_actions_init(&actions) == 0);
  REQUIRE(posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                           O_WRONLY | O_CREAT | O_TRUNC, 0644) == 0);
  REQUIRE(posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO) == 0);
  pid_t child = 0;
  const int spawned = posix_spawn(&child, program.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);

  std::ifstream in(log);
  const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO("the child's output:\n", output);
  CHECK(std::filesystem::exists(marker));  // it ran the checks, not an empty selection
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // and every one passed
}

TEST_CASE("blas.threads.setting") {
  AutomaticThreadsAfterwards restore;
  REQUIRE(nobias::available_threads() >= 1);
  nobias::set_threads(0);
  CHECK(nobias::threads_setting() == 0);
  nobias::set_threads(3);  // more than the CPUs is accepted; a step uses at most those
  CHECK(nobias::threads_setting() == 3);
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
  CHECK_THROWS_WITH_AS(
      nobias::gemm(Op::N, b.row_block(0, 3), Op::N, buffer, T(1), T(0), buffer.row_block(3, 3)),
      "gemm: c overlaps an input; BLAS would read what it is writing", nobias::ValueError);
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
  // k and a's leading dimension are both 2^31; either may be the one checked first.
  std::string message;
  try {
    nobias::gemm(Op::N, a, Op::N, b, T(1), T(0), c);
  } catch (const nobias::ShapeError& e) {
    message = e.what();
  }
  CAPTURE(message);
  CHECK((message == "gemm: k = 2147483648 exceeds the BLAS integer range" ||
         message == "gemm: leading dimension = 2147483648 exceeds the BLAS integer range"));
  CHECK(buffer[0] == T(0));
}

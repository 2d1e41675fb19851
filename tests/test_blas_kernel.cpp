// Which OpenBLAS kernel nobias asks for, tested on made-up CPUs; and, in a child process
// whose environment pins no kernel, that a program calling use_best_blas_kernel() ends up
// on a kernel at least as fast as the best verified one, and says who chose it. The suite's
// own environment is never changed.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gemm/blas_backend.hpp"
#include "gemm/blas_kernel.hpp"
#include "nobias/blas.hpp"
#include "test_support.hpp"

extern char** environ;

using nobias::detail::best_core;
using nobias::detail::CpuFeatures;

namespace {

CpuFeatures avx512_cpu() {
  CpuFeatures f;
  f.avx2 = f.fma = true;
  f.avx512f = f.avx512bw = f.avx512dq = f.avx512vl = true;
  f.xcr0 = 0xe7;  // x87, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
  return f;
}

}  // namespace

TEST_CASE("blas.kernel.policy_on_made_up_cpus") {
  CHECK(best_core(avx512_cpu()) == "SkylakeX");

  CpuFeatures no_zmm_state = avx512_cpu();  // the OS does not save the ZMM registers
  no_zmm_state.xcr0 = 0x7;
  CHECK(best_core(no_zmm_state) == "Haswell");

  for (bool CpuFeatures::*missing : {&CpuFeatures::avx512f, &CpuFeatures::avx512bw,
                                     &CpuFeatures::avx512dq, &CpuFeatures::avx512vl}) {
    CpuFeatures f = avx512_cpu();
    f.*missing = false;
    CHECK(best_core(f) == "Haswell");
  }
  CpuFeatures no_fma = avx512_cpu();
  no_fma.avx512f = false;
  no_fma.fma = false;
  CHECK(best_core(no_fma) == "");
  CpuFeatures no_ymm_state = avx512_cpu();
  no_ymm_state.xcr0 = 0x3;
  CHECK(best_core(no_ymm_state) == "");
  CHECK(best_core(CpuFeatures{}) == "");
}

TEST_CASE("blas.kernel.ranks_and_who_chose") {
  using nobias::detail::chooser;
  using nobias::detail::core_rank;
  CHECK(core_rank("SkylakeX") > core_rank("Haswell"));
  CHECK(core_rank("Cooperlake") == core_rank("SkylakeX"));
  CHECK(core_rank("Haswell") > core_rank("Sandybridge"));
  CHECK(core_rank("Sandybridge") > core_rank("Prescott"));
  CHECK(core_rank("Zen") == core_rank("Haswell"));
  CHECK(chooser(nullptr, nullptr) == "chosen by OpenBLAS from the CPU");
  CHECK(chooser("Haswell", nullptr) == "chosen by the environment: OPENBLAS_CORETYPE=Haswell");
  CHECK(chooser("Haswell", "SkylakeX") ==
        "chosen by the environment: OPENBLAS_CORETYPE=Haswell");  // changed since nobias set it
  CHECK(chooser("SkylakeX", "SkylakeX") ==
        "chosen by nobias for this CPU: OPENBLAS_CORETYPE=SkylakeX");
}

TEST_CASE("blas.kernel.description_says_who_chose_the_kernel") {
  const std::string description = nobias::blas_description();
  CAPTURE(description);
  if (nobias::detail::blas_core_name().empty()) return;  // not OpenBLAS: no kernel to choose
  const char* pinned = std::getenv("OPENBLAS_CORETYPE");
  if (pinned != nullptr && std::getenv(nobias::detail::kChosenMarker) == nullptr) {
    CHECK(description.find(std::string("(chosen by the environment: OPENBLAS_CORETYPE=") + pinned +
                           ")") != std::string::npos);
    CHECK(nobias::slow_blas_kernel_advice().empty());  // the environment's choice is kept
    CHECK_FALSE(nobias::use_best_blas_kernel(nullptr));
  }
}

namespace {

constexpr const char* kChildCase = "blas.kernel.unpinned_child";
constexpr const char* kReport = "NOBIAS_TEST_KERNEL_REPORT";

}  // namespace

TEST_CASE("blas.kernel.unpinned_child") {
  const char* report = std::getenv(kReport);
  if (report == nullptr) return;  // run by the test below, in its own process, only
  std::string program = "/proc/self/exe", filter = std::string("--test-case=") + kChildCase;
  char* argv[] = {program.data(), filter.data(), nullptr};
  nobias::use_best_blas_kernel(argv);  // may restart this process, which comes back here
  std::ofstream(report) << nobias::detail::blas_core_name() << "\n"
                        << nobias::blas_description() << "\n"
                        << nobias::slow_blas_kernel_advice() << "\n";
}

TEST_CASE("blas.kernel.a_program_on_an_unpinned_machine_gets_the_best_kernel") {
  if (nobias::detail::blas_core_name().empty()) return;  // not OpenBLAS
  test_support::TempDir dir("nobias-kernel");
  const std::string report = dir.file("report"), log = dir.file("log");
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "OPENBLAS_CORETYPE=", 18) != 0 &&
        std::strncmp(*e, nobias::detail::kChosenMarker,
                     std::strlen(nobias::detail::kChosenMarker)) != 0)
      environment.emplace_back(*e);
  }
  environment.push_back(std::string(kReport) + "=" + report);
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
  pid_t child = 0;
  const int spawned = posix_spawn(&child, program.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  std::ifstream in(report);
  std::string core, description, advice;
  REQUIRE(std::getline(in, core));
  REQUIRE(std::getline(in, description));
  std::getline(in, advice);
  CAPTURE(description);
  const std::string best = best_core(nobias::detail::this_cpu());
  CHECK(nobias::detail::core_rank(core) >= nobias::detail::core_rank(best));
  CHECK(advice.empty());
  const bool by_nobias =
      description.find("(chosen by nobias for this CPU: OPENBLAS_CORETYPE=" + best + ")") !=
      std::string::npos;
  const bool by_openblas =
      description.find("(chosen by OpenBLAS from the CPU)") != std::string::npos;
  CHECK(by_nobias != by_openblas);
}

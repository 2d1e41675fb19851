// A signal storm during training (issue 19, item 1): SIGUSR1 to the training thread and SIGUSR2
// to the process, each every 200 us, while nobias trains or predicts; the results must be the
// bits of the same work done without signals, and the program must end cleanly (heap
// corruption shows as an abort in malloc or a crash at exit).
//
//   nobias-signal-storm MODE DTYPE [SECONDS]
//     fit      fit() with batches of 16, handlers installed without SA_ONSTACK
//     steps    a loop of train_step, handlers installed with SA_ONSTACK (as CPython's are)
//     predict  predictions of 4096 rows, handlers without SA_ONSTACK
//   DTYPE f32 or f64; the backend is the environment's (NOBIAS_SGEMM, NOBIAS_DGEMM).
// Exit 0: equal bits and signals handled; 1: a difference, or no signal arrived; 2: usage.
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "nobias/nobias.hpp"

namespace {

volatile sig_atomic_t g_to_thread = 0;
volatile sig_atomic_t g_to_process = 0;

void on_usr1(int) {
  g_to_thread = g_to_thread + 1;
}
void on_usr2(int) {
  g_to_process = g_to_process + 1;
}

struct Storm {
  timer_t to_thread{}, to_process{};

  explicit Storm(bool on_stack) {
    for (auto [signal, handler] : {std::pair{SIGUSR1, on_usr1}, std::pair{SIGUSR2, on_usr2}}) {
      struct sigaction action {};
      action.sa_handler = handler;
      sigemptyset(&action.sa_mask);
      action.sa_flags = on_stack ? SA_ONSTACK : 0;  // no SA_RESTART either: the harshest
      sigaction(signal, &action, nullptr);
    }
    sigevent thread_event{};
    thread_event.sigev_notify = SIGEV_THREAD_ID;
    thread_event.sigev_signo = SIGUSR1;
    thread_event._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
    sigevent process_event{};
    process_event.sigev_notify = SIGEV_SIGNAL;
    process_event.sigev_signo = SIGUSR2;
    if (timer_create(CLOCK_MONOTONIC, &thread_event, &to_thread) != 0 ||
        timer_create(CLOCK_MONOTONIC, &process_event, &to_process) != 0) {
      std::perror("timer_create");
      std::exit(2);
    }
    itimerspec every{};
    every.it_interval.tv_nsec = every.it_value.tv_nsec = 200000;
    timer_settime(to_thread, 0, &every, nullptr);
    timer_settime(to_process, 0, &every, nullptr);
  }
  ~Storm() {
    timer_delete(to_thread);
    timer_delete(to_process);
  }
};

std::string blocked_signals();

// Heap traffic between steps, so that a corrupted chunk is found while the storm lasts.
void churn_heap() {
  std::vector<void*> blocks;
  for (int q = 0; q < 8; ++q)
    blocks.push_back(std::malloc(std::size_t{64} << q));
  for (void* block : blocks)
    std::free(block);
}

template <class T>
nobias::Matrix<T> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  nobias::Matrix<T> m(rows, cols);
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      m(i, j) = static_cast<T>(static_cast<double>(state >> 40) / 16777216.0 - 0.5);
    }
  return m;
}

template <class T>
std::vector<T> flatten(const nobias::Network<T>& net) {
  std::vector<T> all;
  for (const auto& w : net.weights())
    all.insert(all.end(), w.data(), w.data() + w.rows() * w.cols());
  return all;
}

const std::vector<std::size_t> kWidths = {1000, 100, 100, 10};  // the seed's network

// The work of one mode, `rounds` times; what it computed, as bits to compare.
template <class T>
std::vector<T> work(const std::string& mode, std::size_t rounds) {
  nobias::Network<T> net(kWidths, 7, nobias::Init::He);
  if (mode == "predict") {
    const auto x = random_matrix<T>(4096, kWidths.front(), 1);
    std::vector<T> out;
    for (std::size_t r = 0; r < rounds; ++r) {
      const nobias::Matrix<T> y = net.predict(x);
      churn_heap();
      if (r + 1 == rounds) out.assign(y.data(), y.data() + y.rows() * y.cols());
    }
    return out;
  }
  const auto x = random_matrix<T>(256, kWidths.front(), 2);
  const auto y = random_matrix<T>(256, kWidths.back(), 3);
  nobias::OptimizerConfig config;
  config.kind = nobias::OptimizerKind::Adam;
  config.learning_rate = 1e-4;
  nobias::Optimizer<T> optimizer(config, net);
  if (mode == "fit") {
    nobias::FitOptions options;
    options.epochs = rounds;
    options.batch_size = 16;
    options.seed = 5;
    // Hooks run with the caller's signal mask: a process or thread started there inherits it.
    const std::string caller_mask = blocked_signals();
    options.on_step = [caller_mask](const nobias::StepReport&) {
      if (blocked_signals() != caller_mask) {
        throw std::runtime_error("on_step ran with the signals {" + blocked_signals() +
                                 "} blocked; the caller had {" + caller_mask + "}");
      }
      churn_heap();
    };
    nobias::fit<T>(net, optimizer, {x, y}, options);
  } else {
    for (std::size_t r = 0; r < rounds; ++r) {
      optimizer.step(net, x.row_block(16 * (r % 16), 16), y.row_block(16 * (r % 16), 16));
      churn_heap();
    }
  }
  return flatten(net);
}

std::string blocked_signals() {
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  std::string text;
  for (int s = 1; s < 32; ++s)
    if (sigismember(&mask, s)) text += " " + std::to_string(s);
  return text;
}

template <class T>
int run(const std::string& mode, double seconds) {
  // Rounds enough to fill the time, timed without signals after a first call (which generates
  // oneDNN's kernels).
  work<T>(mode, 1);
  std::size_t rounds = 2;
  for (;;) {
    const auto start = std::chrono::steady_clock::now();
    work<T>(mode, rounds);
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (took >= 0.2 || took >= seconds) {
      // At least a few hundred products under signals, however loaded the machine.
      const std::size_t least = mode == "steps" ? 200 : mode == "fit" ? 8 : 4;
      rounds =
          std::max(least, static_cast<std::size_t>(static_cast<double>(rounds) * seconds / took));
      break;
    }
    rounds *= 4;
  }
  const std::vector<T> quiet = work<T>(mode, rounds);
  const std::string mask_before = blocked_signals();
  std::vector<T> stormy;
  {
    const Storm storm(mode == "steps");
    stormy = work<T>(mode, rounds);
  }
  const std::string mask_after = blocked_signals();
  std::printf("%s %s: %zu rounds, %d signals to the thread and %d to the process handled\n",
              mode.c_str(), sizeof(T) == 4 ? "f32" : "f64", rounds, int(g_to_thread),
              int(g_to_process));
  if (quiet.size() != stormy.size() ||
      std::memcmp(quiet.data(), stormy.data(), quiet.size() * sizeof(T)) != 0) {
    std::printf("FAIL: the results under signals differ from the quiet run's\n");
    return 1;
  }
  if (mask_before != mask_after) {
    std::printf("FAIL: the thread's blocked signals were {%s} and are {%s} after\n",
                mask_before.c_str(), mask_after.c_str());
    return 1;
  }
  if (g_to_thread == 0 || g_to_process == 0) {
    std::printf("FAIL: no signal reached a handler: the storm proved nothing\n");
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "", dtype = argc > 2 ? argv[2] : "";
  const double seconds = argc > 3 ? std::atof(argv[3]) : 1.0;
  if ((mode != "fit" && mode != "steps" && mode != "predict") ||
      (dtype != "f32" && dtype != "f64")) {
    std::fprintf(stderr, "usage: nobias-signal-storm fit|steps|predict f32|f64 [seconds]\n");
    return 2;
  }
  try {
    return dtype == "f32" ? run<float>(mode, seconds) : run<double>(mode, seconds);
  } catch (const std::exception& e) {
    std::printf("FAIL: %s\n", e.what());
    return 1;
  }
}

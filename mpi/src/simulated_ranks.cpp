#include "nobias/mpi/simulated_ranks.hpp"

#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace nobias::mpi {
namespace {

// What every rank shares: a barrier, and one slot per rank through which the others read
// its data between two barriers.
class Hub {
 public:
  explicit Hub(int ranks) : ranks_(ranks), slots_(static_cast<std::size_t>(ranks)) {}

  int ranks() const { return ranks_; }

  void barrier() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (aborted_) throw_aborted();
    const std::uint64_t generation = generation_;
    if (++arrived_ == ranks_) {
      arrived_ = 0;
      ++generation_;
      changed_.notify_all();
      return;
    }
    changed_.wait(lock, [&] { return generation_ != generation || aborted_; });
    if (generation_ == generation) throw_aborted();
  }

  void abort(int rank) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!aborted_) failed_rank_ = rank;
    aborted_ = true;
    changed_.notify_all();
  }

  struct Slot {
    std::vector<std::pair<void*, std::size_t>> sums_float, sums_double;  // (data, count)
    const void* data = nullptr;
  };
  Slot& slot(int rank) { return slots_[static_cast<std::size_t>(rank)]; }

 private:
  [[noreturn]] void throw_aborted() const {
    throw CommunicationError("simulated rank " + std::to_string(failed_rank_) +
                             " failed; the other ranks cannot complete a collective");
  }

  int ranks_;
  std::vector<Slot> slots_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int arrived_ = 0;
  std::uint64_t generation_ = 0;
  bool aborted_ = false;
  int failed_rank_ = -1;
};

class SimulatedCommunicator final : public Communicator {
 public:
  SimulatedCommunicator(Hub& hub, int rank) : hub_(hub), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return hub_.ranks(); }

  void start_sum(float* data, std::size_t count) override {
    hub_.slot(rank_).sums_float.emplace_back(data, count);
  }
  void start_sum(double* data, std::size_t count) override {
    hub_.slot(rank_).sums_double.emplace_back(data, count);
  }

  // Each rank adds every rank's data in rank order into a scratch copy (nobody writes between
  // the first two barriers), then takes it.
  void wait_all() override {
    hub_.barrier();
    std::vector<float> floats;
    std::vector<double> doubles;
    sum_all(&Hub::Slot::sums_float, floats);
    sum_all(&Hub::Slot::sums_double, doubles);
    hub_.barrier();
    copy_back(&Hub::Slot::sums_float, floats);
    copy_back(&Hub::Slot::sums_double, doubles);
  }

  void broadcast(void* data, std::size_t bytes, int root) override {
    hub_.slot(rank_).data = data;
    hub_.barrier();
    if (rank_ != root && bytes != 0) std::memcpy(data, hub_.slot(root).data, bytes);
    hub_.barrier();
  }

  void gather_all(const void* mine, void* all, const std::vector<std::size_t>& bytes) override {
    hub_.slot(rank_).data = mine;
    hub_.barrier();
    auto* out = static_cast<unsigned char*>(all);
    for (int r = 0; r < size(); ++r) {
      const std::size_t n = bytes[static_cast<std::size_t>(r)];
      if (n != 0) std::memcpy(out, hub_.slot(r).data, n);
      out += n;
    }
    hub_.barrier();
  }

 private:
  using Sums = std::vector<std::pair<void*, std::size_t>> Hub::Slot::*;

  template <class T>
  void sum_all(Sums sums, std::vector<T>& result) {
    const auto& mine = hub_.slot(rank_).*sums;
    for (std::size_t i = 0; i < mine.size(); ++i) {
      const std::size_t offset = result.size();
      const auto* first = static_cast<const T*>((hub_.slot(0).*sums)[i].first);
      result.insert(result.end(), first, first + mine[i].second);
      for (int r = 1; r < size(); ++r) {
        const auto* data = static_cast<const T*>((hub_.slot(r).*sums)[i].first);
        for (std::size_t j = 0; j < mine[i].second; ++j)
          result[offset + j] += data[j];
      }
    }
  }

  template <class T>
  void copy_back(Sums sums, const std::vector<T>& result) {
    auto& mine = hub_.slot(rank_).*sums;
    std::size_t offset = 0;
    for (auto& [data, count] : mine) {
      std::memcpy(data, result.data() + offset, count * sizeof(T));
      offset += count;
    }
    mine.clear();
  }

  Hub& hub_;
  int rank_;
};

}  // namespace

void run_simulated_ranks(int ranks, const std::function<void(Communicator&)>& body) {
  if (ranks < 1)
    throw ValueError("run_simulated_ranks: ranks must be >= 1, got " + std::to_string(ranks));
  Hub hub(ranks);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(ranks));
  std::vector<bool> own_failure(static_cast<std::size_t>(ranks), false);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      SimulatedCommunicator comm(hub, r);
      try {
        body(comm);
      } catch (const CommunicationError&) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
        hub.abort(r);
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
        own_failure[static_cast<std::size_t>(r)] = true;
        hub.abort(r);
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  for (int pass = 0; pass < 2; ++pass) {
    for (int r = 0; r < ranks; ++r) {
      const auto i = static_cast<std::size_t>(r);
      if (errors[i] && (pass == 1 || own_failure[i])) std::rethrow_exception(errors[i]);
    }
  }
}

}  // namespace nobias::mpi

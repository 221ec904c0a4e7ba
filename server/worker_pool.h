// A fixed pool of workers behind a bounded queue, with admission by request
// count and by bytes in flight.
//
// Submit never blocks: when the queue is full or the bytes of admitted work
// would exceed the budget, it answers RESOURCE_EXHAUSTED at once, so a burst
// cannot grow memory or hide queueing. Each worker runs its jobs with
// `threads_per_worker` OpenMP threads (oneDNN and the kernel passes).
// Thread-safe.
#ifndef IMUNPACK_SERVER_WORKER_POOL_H_
#define IMUNPACK_SERVER_WORKER_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/status.h"

namespace imunpack::server {

class WorkerPool {
 public:
  struct Options {
    int workers = 1;
    int threads_per_worker = 1;
    int queue_capacity = 64;              // waiting jobs
    int64_t max_bytes_in_flight = 1 << 30;  // admitted and not finished
  };
  explicit WorkerPool(const Options& options);
  ~WorkerPool();  // Shutdown()

  // Queues job; `bytes` is what it holds until it returns.
  Status Submit(int64_t bytes, std::function<void()> job);

  // Refuses new jobs, runs every queued one, joins the workers.
  void Shutdown();

  int queue_depth() const;
  int in_flight() const;  // queued + running
  int64_t bytes_in_flight() const;
  const Options& options() const { return options_; }

 private:
  struct Job {
    int64_t bytes;
    std::function<void()> fn;
  };
  void Run();

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;        // guarded by mu_
  int running_ = 0;              // guarded by mu_
  int64_t bytes_in_flight_ = 0;  // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace imunpack::server

#endif  // IMUNPACK_SERVER_WORKER_POOL_H_

#include "server/worker_pool.h"

#include <omp.h>

namespace imunpack::server {

WorkerPool::WorkerPool(const Options& options) : options_(options) {
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() { Shutdown(); }

Status WorkerPool::Submit(int64_t bytes, std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status(StatusCode::kUnavailable, "server is shutting down");
    if (static_cast<int>(queue_.size()) >= options_.queue_capacity) {
      return ResourceExhausted("queue full: " + std::to_string(queue_.size()) +
                               " requests waiting (capacity " +
                               std::to_string(options_.queue_capacity) + ")");
    }
    // One request may always run alone, whatever its size (size limits are
    // checked elsewhere); beyond that the byte budget applies.
    if (bytes_in_flight_ > 0 && bytes_in_flight_ + bytes > options_.max_bytes_in_flight) {
      return ResourceExhausted("memory budget: " + std::to_string(bytes_in_flight_) +
                               " bytes in flight + " + std::to_string(bytes) +
                               " > " + std::to_string(options_.max_bytes_in_flight));
    }
    bytes_in_flight_ += bytes;
    queue_.push_back({bytes, std::move(job)});
  }
  cv_.notify_one();
  return Status::Ok();
}

void WorkerPool::Run() {
  omp_set_num_threads(options_.threads_per_worker);
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    job.fn();
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
    bytes_in_flight_ -= job.bytes;
  }
}

void WorkerPool::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

int WorkerPool::queue_depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(queue_.size());
}

int WorkerPool::in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(queue_.size()) + running_;
}

int64_t WorkerPool::bytes_in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_in_flight_;
}

}  // namespace imunpack::server

#ifndef IMUNPACK_KERNELS_TIMER_H_
#define IMUNPACK_KERNELS_TIMER_H_

#include <chrono>

namespace imunpack {

// Milliseconds since construction or the last Lap().
class Stopwatch {
 public:
  Stopwatch() : start_(Clock::now()), lap_(start_) {}
  double Lap() {
    auto now = Clock::now();
    double ms = std::chrono::duration<double, std::milli>(now - lap_).count();
    lap_ = now;
    return ms;
  }
  double Total() const {
    return std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
  }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_, lap_;
};

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_TIMER_H_

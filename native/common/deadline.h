// When a wait gives up, on the monotonic clock: a change of the wall clock never shortens or
// stretches a wait. std::chrono::steady_clock is CLOCK_MONOTONIC with libstdc++ on Linux (so
// MonotonicTimespec() is what futex, sem_clockwait and ppoll take) and QueryPerformanceCounter on
// Windows.
#pragma once

#include <chrono>
#include <cmath>
#include <ctime>

namespace ipckit {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  // No deadline: the wait lasts until it completes or is stopped.
  Deadline() = default;
  // `timeoutMs` from now; a negative (or NaN) timeout means none, 0 a deadline already passed.
  static Deadline After(double timeoutMs) {
    Deadline deadline;
    if (!(timeoutMs >= 0)) return deadline;
    deadline.never_ = false;
    deadline.at_ = Clock::now() + std::chrono::microseconds(static_cast<long long>(std::ceil(timeoutMs * 1000)));
    return deadline;
  }

  bool never() const { return never_; }
  Clock::time_point at() const { return at_; }
  bool Passed() const { return !never_ && Clock::now() >= at_; }

  // The absolute deadline as a timespec of the monotonic clock.
  struct timespec MonotonicTimespec() const {
    return ToTimespec(at_.time_since_epoch());
  }
  // What is left of it (zero once passed), for calls that take a relative timeout.
  struct timespec RemainingTimespec() const {
    Clock::duration left = at_ - Clock::now();
    return ToTimespec(left < Clock::duration::zero() ? Clock::duration::zero() : left);
  }

 private:
  static struct timespec ToTimespec(Clock::duration duration) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count();
    struct timespec result;
    result.tv_sec = static_cast<time_t>(ns / 1000000000LL);
    result.tv_nsec = static_cast<long>(ns % 1000000000LL);
    return result;
  }

  bool never_ = true;
  Clock::time_point at_{};
};

}  // namespace ipckit

// Win32 waits take a relative timeout in milliseconds; ipckit's deadlines are absolute
// (common/deadline.h). The callers loop until the deadline itself says it passed.
#pragma once

#include <windows.h>

#include <chrono>
#include <cmath>

#include "common/deadline.h"

namespace ipckit::win {

// Milliseconds left until `deadline`, rounded up (INFINITE for none). A wait longer than
// INFINITE - 1 ms is made of several.
inline DWORD WaitMs(const Deadline& deadline) {
  if (deadline.never()) return INFINITE;
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline.at() - Deadline::Clock::now()).count();
  if (left <= 0) return 0;
  double ms = std::ceil(static_cast<double>(left) / 1000.0);
  return ms >= static_cast<double>(INFINITE - 1) ? INFINITE - 1 : static_cast<DWORD>(ms);
}

}  // namespace ipckit::win

// What the System V primitives (message queues, semaphore sets) share: how a key is named (in
// errors and for lib/, which shows a handle's `name`), and reading the kernel's limits from /proc
// (which POSIX queues read their limits with too).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/constants.h"

namespace ipckit::posix {

// Flags of the open functions (binding.constants.queueFlags).
constexpr uint32_t kSysVCreate = kQueueCreate;
constexpr uint32_t kSysVExclusive = kQueueExclusive;
constexpr uint32_t kSysVPrivate = kQueuePrivate;

// Reads the first `count` numbers of a /proc file; false (values untouched) if it cannot.
inline bool ReadProcLongs(const char* path, long* values, int count) {
  FILE* file = std::fopen(path, "r");
  if (file == nullptr) return false;
  long read[8];
  int n = 0;
  while (n < count && n < 8 && std::fscanf(file, "%ld", &read[n]) == 1) n++;
  std::fclose(file);
  if (n != count) return false;
  for (int i = 0; i < count; i++) values[i] = read[i];
  return true;
}

inline long ReadProcLong(const char* path, long fallback) {
  long value = fallback;
  ReadProcLongs(path, &value, 1);
  return value;
}

// The key as ipcs shows it, which is what errors carry as their path. The one place a key is
// formatted: lib/ shows the native handle's `name`.
inline std::string KeyName(double key) {
  if (key == 0) return "IPC_PRIVATE";
  char text[32];
  std::snprintf(text, sizeof text, "0x%08x", static_cast<unsigned>(static_cast<int64_t>(key)));
  return text;
}

}  // namespace ipckit::posix

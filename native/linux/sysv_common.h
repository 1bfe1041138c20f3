// What the System V primitives (message queues, semaphore sets) share: how a key is named in
// errors, and reading the kernel's limits from /proc.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace ipckit::posix {

// Flags of the open functions (lib/binding.ts mirrors them as QueueFlags).
constexpr uint32_t kSysVCreate = 1;
constexpr uint32_t kSysVExclusive = 2;
constexpr uint32_t kSysVPrivate = 4;

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

// The key as ipcs shows it, which is what errors carry as their path.
inline std::string KeyName(double key) {
  if (key == 0) return "IPC_PRIVATE";
  char text[32];
  std::snprintf(text, sizeof text, "0x%08x", static_cast<unsigned>(static_cast<int64_t>(key)));
  return text;
}

}  // namespace ipckit::posix

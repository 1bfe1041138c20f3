#include <errno.h>
#include <string.h>

#include "common/errors.h"

namespace ipckit {

OsError LastOsError(const char* syscall, const std::string& path) { return OsError{errno, syscall, path}; }

// libuv's error numbers on Unix are the negated errno values.
int ToUvErrno(int osCode) { return -osCode; }

std::string OsErrorName(int osCode) {
  const char* name = strerrorname_np(osCode);
  return name == nullptr ? std::string() : std::string(name);
}

std::string OsErrorDescription(int osCode) {
  char buffer[256];
  // The GNU strerror_r returns the message, which may or may not be in `buffer`.
  return std::string(strerror_r(osCode, buffer, sizeof buffer));
}

}  // namespace ipckit

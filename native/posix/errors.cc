#include <errno.h>

#include "common/errors.h"

namespace ipckit {

OsError LastOsError(const char* syscall, const std::string& path) { return OsError{errno, syscall, path}; }

// libuv's error numbers on Unix are the negated errno values.
int ToUvErrno(int osCode) { return -osCode; }

}  // namespace ipckit

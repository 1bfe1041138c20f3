// A build for a platform ipckit does not support yet: the addon loads, lists no features, and
// every factory of the facade throws ERR_IPC_UNSUPPORTED_PLATFORM (lib/binding.ts
// requireFeature). It holds the platform hooks common/ needs to link, in portable C++ only;
// since no feature is registered, no wait is ever started and the cancel hooks never run.
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

#include "common/addon.h"
#include "common/errors.h"
#include "common/waiter.h"

namespace ipckit {

const char* PlatformName() { return "unsupported"; }
std::vector<Feature> PlatformFeatures() { return {}; }

OsError LastOsError(const char* syscall, const std::string& path) { return OsError{errno, syscall, path}; }
int ToUvErrno(int osCode) { return -osCode; }
std::string OsErrorName(int) { return std::string(); }
std::string OsErrorDescription(int osCode) { return std::string(std::strerror(osCode)); }

bool StartThread(void (*main)(void*), void* arg, OsError* error) {
  try {
    std::thread(main, arg).detach();
    return true;
  } catch (const std::system_error& failure) {
    *error = OsError{failure.code().value(), "std::thread", std::string()};
    return false;
  }
}
OsError NoThreadError() { return OsError{EAGAIN, "std::thread", std::string()}; }
void PrepareCancel() {}
void PrepareWaiterThread() {}
WaiterThread CurrentWaiterThread() { return WaiterThread{}; }
void CancelWaiterThread(WaiterThread) {}

}  // namespace ipckit

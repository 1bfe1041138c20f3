// Linux's registration: the one place that decides which primitives a Linux build has. Files in
// native/posix/ use only POSIX; files in native/linux/ use what Linux and glibc add (futexes, a
// message-queue descriptor that uv_poll can watch, glibc's mutex and semaphore layouts,
// /proc/sys limits, strerrorname_np). Both keep the namespace ipckit::posix.
#include "common/addon.h"
#include "linux/eventfd.h"
#include "linux/introspect.h"
#include "linux/memfd.h"
#include "linux/named_sem.h"
#include "linux/posix_mq.h"
#include "linux/sync.h"
#include "linux/sysv_mq.h"
#include "linux/sysv_sem.h"
#include "linux/sysv_shm.h"
#include "posix/fifo.h"
#include "posix/shm.h"
#include "posix/signals.h"
#include "posix/unix_socket.h"

namespace ipckit {

const char* PlatformName() { return "linux"; }

std::vector<Feature> PlatformFeatures() {
  return {
      {"sharedMemory", posix::InitSharedMemory},
      {"mappedFile", posix::InitMappedFile},
      {"sysvMessageQueue", posix::InitSysVMessageQueue},
      {"sysvSemaphoreSet", posix::InitSysVSemaphoreSet},
      {"namedSemaphore", posix::InitNamedSemaphore},
      {"posixMessageQueue", posix::InitPosixMessageQueue},
      {"sync", posix::InitSync},
      {"sysvSharedMemory", posix::InitSysVSharedMemory},
      {"eventFd", posix::InitEventFd},
      {"anonymousSharedMemory", posix::InitAnonymousSharedMemory},
      {"unixSocket", posix::InitUnixSocket},
      {"signals", posix::InitSignals},
      {"fifo", posix::InitFifo},
      {"introspection", posix::InitIntrospection},
  };
}

}  // namespace ipckit

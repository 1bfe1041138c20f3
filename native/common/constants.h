// The numbers that cross the binding: the flags of the native open and operate functions, and
// the names of the limits errors carry in `error.limit`. They are defined here only; lib/ reads
// them from `binding.constants` (native/common/constants.cc), never spells them itself. The
// layouts of shared-memory objects are the public headers' (native/include/ipckit/) and are
// exported by the code that compiles them.
#pragma once

#include <napi.h>

#include <cstdint>

namespace ipckit {

// openSysVQueue, openSysVSemaphoreSet, openPosixQueue: binding.constants.queueFlags.
enum QueueFlag : uint32_t {
  kQueueCreate = 1,     // create if missing
  kQueueExclusive = 2,  // with kQueueCreate: EEXIST if present
  kQueuePrivate = 4,    // System V: IPC_PRIVATE, the key is ignored
};

// openSharedMemory: binding.constants.shmFlags.
enum ShmFlag : uint32_t {
  kShmCreate = 1,
  kShmExclusive = 2,
  kShmReadOnly = 4,   // O_RDONLY, mapped private (copy-on-write)
  kShmNoReserve = 8,  // size a new object with ftruncate instead of posix_fallocate
};

// openSemaphore: binding.constants.semaphoreFlags.
enum SemaphoreFlag : uint32_t {
  kSemaphoreCreate = 1,
  kSemaphoreExclusive = 2,
};

// The flags of one System V semaphore operation, third of each (index, delta, flags) triple:
// binding.constants.semOpFlags.
enum SemOpFlag : int32_t {
  kSemOpUndo = 1,    // SEM_UNDO
  kSemOpNoWait = 2,  // IPC_NOWAIT
};

// What `error.limit.name` says: where the limit that refused a call is set (a /proc/sys file, a
// resource limit, an environment variable, a queue's attribute), or for the four numbers of
// /proc/sys/kernel/sem the kernel's name of each. binding.constants.limits lists them, so lib/
// names the limits its own argument checks meet the same way.
namespace limit {
constexpr const char* kMsgmni = "/proc/sys/kernel/msgmni";
constexpr const char* kMsgmax = "/proc/sys/kernel/msgmax";
constexpr const char* kMsgQbytes = "msg_qbytes";
constexpr const char* kSemmsl = "SEMMSL";
constexpr const char* kSemmns = "SEMMNS";
constexpr const char* kSemopm = "SEMOPM";
constexpr const char* kSemmni = "SEMMNI";
constexpr const char* kMqMsgMax = "/proc/sys/fs/mqueue/msg_max";
constexpr const char* kMqMsgsizeMax = "/proc/sys/fs/mqueue/msgsize_max";
constexpr const char* kMqQueuesMax = "/proc/sys/fs/mqueue/queues_max";
constexpr const char* kMqMsgsize = "mq_msgsize";
constexpr const char* kRlimitMsgqueue = "RLIMIT_MSGQUEUE";
constexpr const char* kWaiterThreads = "IPCKIT_MAX_WAITER_THREADS";
constexpr const char* kShmmax = "/proc/sys/kernel/shmmax";
constexpr const char* kShmall = "/proc/sys/kernel/shmall";
constexpr const char* kShmmni = "/proc/sys/kernel/shmmni";
}  // namespace limit

// binding.constants, with what every platform has; the platform files add theirs (sync layouts,
// file prefixes) under their own keys while registering, and FreezeConstants() seals it all.
Napi::Object ExportConstants(Napi::Env env, Napi::Object exports);
// The constants object; platform code adds a frozen group with SetConstantGroup().
void SetConstantGroup(Napi::Object exports, const char* key, Napi::Object group);
void FreezeConstants(Napi::Object exports);

}  // namespace ipckit

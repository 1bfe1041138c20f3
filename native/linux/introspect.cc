// Introspection: the few questions about the host's IPC objects that files under /proc and
// /dev/shm do not answer. Everything else (listing, owners, holders) is read by lib/introspect.ts.
#include "linux/introspect.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/errors.h"

namespace ipckit::posix {

namespace {

// posixQueueStat(name): { dev, ino, mode, uid, gid, messages, maxMessages, messageSize }. The
// queue is opened without creating it, for reading if the caller may read it, else for writing
// (mq_getattr needs either), and closed again before returning.
Napi::Value PosixQueueStat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  mqd_t q = mq_open(name.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (q == static_cast<mqd_t>(-1) && errno == EACCES) q = mq_open(name.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (q == static_cast<mqd_t>(-1)) Throw(SystemError(env, LastOsError("mq_open", name)));
  struct stat st;
  struct mq_attr attr;
  if (fstat(q, &st) != 0) {
    OsError error = LastOsError("fstat", name);
    mq_close(q);
    Throw(SystemError(env, error));
  }
  if (mq_getattr(q, &attr) != 0) {
    OsError error = LastOsError("mq_getattr", name);
    mq_close(q);
    Throw(SystemError(env, error));
  }
  mq_close(q);
  Napi::Object out = Napi::Object::New(env);
  out.Set("dev", Napi::Number::New(env, static_cast<double>(st.st_dev)));
  out.Set("ino", Napi::Number::New(env, static_cast<double>(st.st_ino)));
  out.Set("mode", Napi::Number::New(env, st.st_mode & 07777));
  out.Set("uid", Napi::Number::New(env, st.st_uid));
  out.Set("gid", Napi::Number::New(env, st.st_gid));
  out.Set("messages", Napi::Number::New(env, static_cast<double>(attr.mq_curmsgs)));
  out.Set("maxMessages", Napi::Number::New(env, static_cast<double>(attr.mq_maxmsg)));
  out.Set("messageSize", Napi::Number::New(env, static_cast<double>(attr.mq_msgsize)));
  return out;
}

// The kinds of sysvRemoveId, as lib/introspect.ts numbers them.
enum SysVKind { kQueue = 0, kSemaphoreSet = 1, kSegment = 2 };

// sysvRemoveId(kind, id): IPC_RMID by id. The kernel decides who may (the owner, the creator, or
// CAP_SYS_ADMIN): a refusal is EPERM. lib/ checks the id still carries the key it listed first.
Napi::Value SysVRemoveId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int kind = info[0].As<Napi::Number>().Int32Value();
  int id = info[1].As<Napi::Number>().Int32Value();
  std::string shown = "id " + std::to_string(id);
  if (kind == kQueue) {
    if (msgctl(id, IPC_RMID, nullptr) != 0) Throw(SystemError(env, LastOsError("msgctl", shown)));
  } else if (kind == kSemaphoreSet) {
    if (semctl(id, 0, IPC_RMID) != 0) Throw(SystemError(env, LastOsError("semctl", shown)));
  } else if (kind == kSegment) {
    if (shmctl(id, IPC_RMID, nullptr) != 0) Throw(SystemError(env, LastOsError("shmctl", shown)));
  } else {
    Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "unknown System V kind " + std::to_string(kind)));
  }
  return env.Undefined();
}

// sysvSemaphoreValues(id): one { value, lastPid, waiting, waitingForZero } per semaphore of the
// set (semctl GETVAL, GETPID, GETNCNT, GETZCNT; the caller needs read permission).
Napi::Value SysVSemaphoreValues(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int id = info[0].As<Napi::Number>().Int32Value();
  std::string shown = "id " + std::to_string(id);
  struct semid_ds ds;
  union {
    int val;
    struct semid_ds* buf;
    unsigned short* array;
  } arg;
  arg.buf = &ds;
  if (semctl(id, 0, IPC_STAT, arg) != 0) Throw(SystemError(env, LastOsError("semctl", shown)));
  Napi::Array out = Napi::Array::New(env, ds.sem_nsems);
  for (unsigned long i = 0; i < ds.sem_nsems; i++) {
    int index = static_cast<int>(i);
    int value = semctl(id, index, GETVAL);
    int pid = value < 0 ? -1 : semctl(id, index, GETPID);
    int waiting = pid < 0 ? -1 : semctl(id, index, GETNCNT);
    int zero = waiting < 0 ? -1 : semctl(id, index, GETZCNT);
    if (zero < 0) Throw(SystemError(env, LastOsError("semctl", shown)));
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("value", Napi::Number::New(env, value));
    entry.Set("lastPid", Napi::Number::New(env, pid));
    entry.Set("waiting", Napi::Number::New(env, waiting));
    entry.Set("waitingForZero", Napi::Number::New(env, zero));
    out.Set(static_cast<uint32_t>(i), entry);
  }
  return out;
}

}  // namespace

void InitIntrospection(Napi::Env env, Napi::Object exports) {
  exports.Set("posixQueueStat", Napi::Function::New<PosixQueueStat>(env, "posixQueueStat"));
  exports.Set("sysvRemoveId", Napi::Function::New<SysVRemoveId>(env, "sysvRemoveId"));
  exports.Set("pageSize", Napi::Number::New(env, static_cast<double>(sysconf(_SC_PAGESIZE))));
  exports.Set("sysvSemaphoreValues", Napi::Function::New<SysVSemaphoreValues>(env, "sysvSemaphoreValues"));
}

}  // namespace ipckit::posix

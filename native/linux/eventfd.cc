// eventfd(2): a 64-bit counter behind a descriptor, the cheapest doorbell between processes
// that share the descriptor (by inheritance or descriptor passing). The descriptor is
// non-blocking, and waits are PollWaits on the event loop: no thread at all.
#include "linux/eventfd.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "common/addon.h"
#include "common/errors.h"
#include "common/handle.h"
#include "posix/poll_waits.h"

namespace ipckit::posix {

namespace {

// The most an eventfd counter holds: a write that would pass it waits (EAGAIN here).
constexpr uint64_t kCounterMax = UINT64_MAX - 1;

class EventFdHandle : public WaitingHandle<EventFdHandle>, public PollWaits::Client {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b69744576ULL, 0x656e74466476ULL};
  static constexpr const char* kKindName = "eventfd";

  struct Pending {
    int fd;
    bool semaphore;
  };

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<EventFdHandle>::DefineClass(env, "EventFd",
        WithWaitMethods({
            Getter<&EventFdHandle::Fd>("fd"),
            Getter<&EventFdHandle::Semaphore>("semaphore"),
            Method<&EventFdHandle::TryRead>("tryRead"),
            Method<&EventFdHandle::TryWrite>("tryWrite"),
            Method<&EventFdHandle::Read>("read"),
            Method<&EventFdHandle::Write>("write"),
            Method<&EventFdHandle::Close>("close"),
        }));
  }

  explicit EventFdHandle(const Napi::CallbackInfo& info) : WaitingHandle<EventFdHandle>(info), waits_(this, "ipckit:EventFd") {
    Pending* pending = PendingArg<Pending>(info);
    fd_ = pending->fd;
    pending->fd = -1;  // owned here from now on
    semaphore_ = pending->semaphore;
  }
  ~EventFdHandle() override { Release(); }

  void ReleaseForTeardown() override { Release(); }
  std::string name() const override { return "eventfd " + std::to_string(fd_); }

 protected:
  WaitSet& waits() override { return waits_; }

 private:
  void Release() {
    waits_.Release();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    MarkClosed();
  }

  // The counter (or 1, in semaphore mode) if it was above zero; false if it was zero.
  bool ReadNow(Napi::Env env, uint64_t* value) {
    for (;;) {
      if (read(fd_, value, sizeof *value) == static_cast<ssize_t>(sizeof *value)) return true;
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return false;
      Throw(OsFailure(env, errno, "read"));
    }
  }

  // Adds `value`; false if the counter has no room for it now.
  bool WriteNow(Napi::Env env, uint64_t value) {
    for (;;) {
      if (write(fd_, &value, sizeof value) == static_cast<ssize_t>(sizeof value)) return true;
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return false;
      Throw(OsFailure(env, errno, "write"));
    }
  }

  static uint64_t ValueArg(Napi::Env env, const Napi::Value& arg) {
    bool lossless = false;
    uint64_t value = arg.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless || value == 0 || value > kCounterMax) {
      Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "an eventfd write adds from 1 to 2^64 - 2"));
    }
    return value;
  }

  bool TryNow(Napi::Env env, PollWaits::Op& op) override {
    if (op.direction == PollWaits::kWrite) {
      uint64_t value;
      std::memcpy(&value, op.data.data(), sizeof value);
      if (!WriteNow(env, value)) return false;
      op.deferred.Resolve(env.Undefined());
      return true;
    }
    uint64_t value = 0;
    if (!ReadNow(env, &value)) return false;
    op.deferred.Resolve(Napi::BigInt::New(env, value));
    return true;
  }

  Napi::Error Stopped(Napi::Env env, const PollWaits::Op& op, StopReason reason) override {
    return StopError(env, reason, op.direction == PollWaits::kWrite ? "write" : "read", "eventfd");
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    return Napi::Number::New(info.Env(), fd_);
  }

  Napi::Value Semaphore(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), semaphore_); }

  // tryRead(): bigint | null
  Napi::Value TryRead(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    uint64_t value = 0;
    if (!ReadNow(env, &value)) return env.Null();
    return Napi::BigInt::New(env, value);
  }

  // tryWrite(value: bigint): boolean
  Napi::Value TryWrite(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    return Napi::Boolean::New(env, WriteNow(env, ValueArg(env, info[0])));
  }

  // read(opId, timeoutMs | -1): Promise<bigint>, once the counter is above zero.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    PollWaits::Op op(env);
    op.id = info[0].As<Napi::Number>().DoubleValue();
    op.direction = PollWaits::kRead;
    op.deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
    return waits_.Add(env, Value(), fd_, std::move(op));
  }

  // write(opId, timeoutMs | -1, value: bigint): Promise<void>, once the counter has room.
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    uint64_t value = ValueArg(env, info[2]);
    PollWaits::Op op(env);
    op.id = info[0].As<Napi::Number>().DoubleValue();
    op.direction = PollWaits::kWrite;
    op.deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
    op.data.resize(sizeof value);
    std::memcpy(op.data.data(), &value, sizeof value);
    return waits_.Add(env, Value(), fd_, std::move(op));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed()) return env.Undefined();
    waits_.StopAll(StopReason::kClosed);
    Release();
    return env.Undefined();
  }

  int fd_ = -1;
  bool semaphore_ = false;
  PollWaits waits_;
};

struct FdGuard {
  int fd = -1;
  ~FdGuard() {
    if (fd >= 0) close(fd);
  }
};

Napi::Value Wrap(Napi::Env env, FdGuard& guard, bool semaphore) {
  EventFdHandle::Pending pending{guard.fd, semaphore};
  guard.fd = -1;
  try {
    return Addon::Of(env).NewInstance<EventFdHandle>({Napi::External<EventFdHandle::Pending>::New(env, &pending)});
  } catch (...) {
    if (pending.fd >= 0) close(pending.fd);  // the handle never took it
    throw;
  }
}

// createEventFd(initial: number (u32), semaphore: boolean): EventFd
Napi::Value CreateEventFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  unsigned initial = info[0].As<Napi::Number>().Uint32Value();
  bool semaphore = info[1].As<Napi::Boolean>().Value();
  FdGuard guard;
  guard.fd = eventfd(initial, EFD_CLOEXEC | EFD_NONBLOCK | (semaphore ? EFD_SEMAPHORE : 0));
  if (guard.fd < 0) Throw(SystemError(env, LastOsError("eventfd")));
  return Wrap(env, guard, semaphore);
}

// eventFdFromFd(fd, semaphore): EventFd over a duplicate of `fd` (the caller keeps its own).
// The duplicate shares the open file description, whose O_NONBLOCK is set here.
Napi::Value EventFdFromFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool semaphore = info[1].As<Napi::Boolean>().Value();
  std::string name = "fd " + std::to_string(fd);
  char target[64] = {0};
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t length = readlink(link.c_str(), target, sizeof target - 1);
  if (length < 0) Throw(SystemError(env, OsError{errno == ENOENT ? EBADF : errno, "readlink", name}));
  if (std::strcmp(target, "anon_inode:[eventfd]") != 0) {
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_INVALID_OBJECT",
        "descriptor " + std::to_string(fd) + " is not an eventfd (it is " + target + ")"));
  }
  FdGuard guard;
  guard.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (guard.fd < 0) Throw(SystemError(env, LastOsError("fcntl", name)));
  int flags = fcntl(guard.fd, F_GETFL);
  if (flags < 0 || fcntl(guard.fd, F_SETFL, flags | O_NONBLOCK) != 0) Throw(SystemError(env, LastOsError("fcntl", name)));
  return Wrap(env, guard, semaphore);
}

}  // namespace

void InitEventFd(Napi::Env env, Napi::Object exports) {
  Napi::Function eventFdClass = EventFdHandle::DefineClass(env);
  Addon::Of(env).RegisterClass<EventFdHandle>(eventFdClass);
  exports.Set("EventFd", eventFdClass);
  exports.Set("createEventFd", Napi::Function::New<CreateEventFd>(env, "createEventFd"));
  exports.Set("eventFdFromFd", Napi::Function::New<EventFdFromFd>(env, "eventFdFromFd"));
}

}  // namespace ipckit::posix

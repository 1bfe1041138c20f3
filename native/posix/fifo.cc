// FIFOs (named pipes). The addon only makes them and opens them: every descriptor it returns is
// non-blocking and close-on-exec, and lib/fifo.ts hands it to libuv's pipe machinery (a
// net.Socket), which reads and writes on the event loop. What libuv cannot do is wait for a
// FIFO's other end without blocking: a non-blocking open for writing fails with ENXIO while no
// reader has it open, and a blocking one would hold a thread. That wait, the only one here, is a
// blocking open(O_WRONLY) on one of the addon's waiter threads, cancelled by the pool's signal.
#include "posix/fifo.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "common/addon.h"
#include "common/errors.h"
#include "common/handle.h"
#include "common/waiter.h"

namespace ipckit::posix {

namespace {

const char* FileKind(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a FIFO";
}

[[noreturn]] void ThrowNotFifo(Napi::Env env, const std::string& path, mode_t mode) {
  Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_INVALID_OBJECT", "'" + path + "' is not a FIFO: it is " + FileKind(mode)));
}

// Refuses a path that is something else before it is opened: opening a device, even without
// blocking, can have effects of its own (a tape rewinds, a terminal becomes ours without
// O_NOCTTY), and a directory or a socket would only fail later with a less clear error.
void CheckIsFifo(Napi::Env env, const std::string& path, const char* syscall) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) Throw(SystemError(env, LastOsError(syscall, path)));
  if (!S_ISFIFO(st.st_mode)) ThrowNotFifo(env, path, st.st_mode);
}

// makeFifo(path, mode): creates the FIFO with exactly `mode`. mkfifo narrows the mode by the
// umask, so the bits are set again afterwards, through a descriptor of the FIFO just made (a
// non-blocking open for reading never waits) so that a name swapped in between is never
// chmod-ed. If that fails the FIFO is removed again: a caller that gets an error has nothing.
Napi::Value MakeFifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  mode_t mode = static_cast<mode_t>(info[1].As<Napi::Number>().Uint32Value() & 07777);
  if (mkfifo(path.c_str(), mode & 0777) != 0) Throw(SystemError(env, LastOsError("mkfifo", path)));
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  OsError failure{0, nullptr, path};
  struct stat st;
  if (fd < 0) {
    failure = LastOsError("open", path);
  } else if (fstat(fd, &st) != 0) {
    failure = LastOsError("fstat", path);
  } else if (!S_ISFIFO(st.st_mode)) {
    // Someone replaced the name in the instant since mkfifo: it is theirs now, not ours to remove.
    close(fd);
    ThrowNotFifo(env, path, st.st_mode);
  } else if (fchmod(fd, mode) != 0) {
    failure = LastOsError("fchmod", path);
  }
  if (fd >= 0) close(fd);
  if (failure.syscall != nullptr) {
    unlink(path.c_str());
    Throw(SystemError(env, failure));
  }
  return env.Undefined();
}

// openFifo(path, forWriting): the descriptor (non-blocking, close-on-exec). Opening for writing
// while no one reads fails with ENXIO, which lib/ turns into ERR_IPC_NO_READER.
Napi::Value OpenFifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  bool forWriting = info[1].As<Napi::Boolean>().Value();
  CheckIsFifo(env, path, "open");
  int fd = open(path.c_str(), (forWriting ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) Throw(SystemError(env, LastOsError("open", path)));
  // The name may have changed between the stat and the open: judge what was opened.
  struct stat st;
  if (fstat(fd, &st) != 0) {
    OsError error = LastOsError("fstat", path);
    close(fd);
    Throw(SystemError(env, error));
  }
  if (!S_ISFIFO(st.st_mode)) {
    close(fd);
    ThrowNotFifo(env, path, st.st_mode);
  }
  return Napi::Number::New(env, fd);
}

// The wait of one openWriter({ wait: true }): a handle of its own, so that the wait has the
// stop/ref/unref surface of every other wait, and close() (or teardown) stops it.
class FifoOpener : public WaitingHandle<FifoOpener> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b69744649ULL, 0x464f6f70656e3031ULL};
  static constexpr const char* kKindName = "FIFO opener";

  struct Pending {
    std::string path;
  };

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<FifoOpener>::DefineClass(env, "FifoOpener",
        WithWaitMethods({
            Method<&FifoOpener::OpenWriter>("openWriter"),
            Method<&FifoOpener::Close>("close"),
        }));
  }

  explicit FifoOpener(const Napi::CallbackInfo& info) : WaitingHandle<FifoOpener>(info) {
    path_ = PendingArg<Pending>(info)->path;
    waits_.Bind(Addon::Of(info.Env()).waiters);
  }

  void ReleaseForTeardown() override {
    // The waiter pool's own teardown stops and frees the operation, closing any descriptor it got.
    waits_.Clear();
    MarkClosed();
  }

  void Forget(double opId) { waits_.Finish(opId); }
  std::string name() const override { return path_; }

 protected:
  WaitSet& waits() override { return waits_; }

 private:
  Napi::Value OpenWriter(const Napi::CallbackInfo& info);

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (closed()) return info.Env().Undefined();
    MarkClosed();
    waits_.StopAll(StopReason::kClosed);
    return info.Env().Undefined();
  }

  std::string path_;
  PendingWaits waits_;
};

// A blocking open(O_WRONLY) on a waiter thread: it returns once a reader opens the FIFO, or fails
// with EINTR when the pool cancels it (abort, close, or the deadline, which the kernel does not
// take for open). The descriptor is made non-blocking before it is handed over.
class OpenWriterOp final : public BlockingOp {
 public:
  OpenWriterOp(Napi::Env env, FifoOpener* handle, Napi::Object self, double opId, Deadline deadline, std::string path)
      : BlockingOp(env, deadline), handle_(handle), self_(Napi::Persistent(self)), opId_(opId), path_(std::move(path)) {}

  // Not settled (environment teardown), or settled with an error: the descriptor is no one's.
  ~OpenWriterOp() override {
    if (fd_ >= 0) close(fd_);
  }

  void Execute() override {
    for (;;) {
      if (StopRequested()) return;
      int fd = open(path_.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        error_ = LastOsError("open", path_);
        return;
      }
      struct stat st;
      int flags = 0;
      if (fstat(fd, &st) != 0) {
        error_ = LastOsError("fstat", path_);
      } else if (!S_ISFIFO(st.st_mode)) {
        notFifo_ = st.st_mode;
      } else if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        error_ = LastOsError("fcntl", path_);
      } else {
        fd_ = fd;
        return;
      }
      close(fd);
      return;
    }
  }

  void Settle(Napi::Env env) override {
    handle_->Forget(opId_);
    if (fd_ >= 0) {
      // Opened as a stop was requested: a reader is there, so the open succeeds.
      deferred_.Resolve(Napi::Number::New(env, fd_));
      fd_ = -1;
    } else if (error_.syscall != nullptr) {
      deferred_.Reject(SystemError(env, error_).Value());
    } else if (notFifo_ != 0) {
      deferred_.Reject(
          LibraryError(env, ErrorKind::kError, "ERR_IPC_INVALID_OBJECT", "'" + path_ + "' is not a FIFO: it is " + FileKind(notFifo_))
              .Value());
    } else {
      deferred_.Reject(StopError(env, stopReason(), "wait for a reader", "FIFO").Value());
    }
  }

 private:
  FifoOpener* handle_;
  Napi::ObjectReference self_;
  double opId_;
  std::string path_;
  int fd_ = -1;
  mode_t notFifo_ = 0;
  OsError error_{0, nullptr, std::string()};
};

// openWriter(opId, timeoutMs | -1): Promise<fd>. lib/ has tried the non-blocking open first.
Napi::Value FifoOpener::OpenWriter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  double opId = info[0].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
  auto op = std::make_unique<OpenWriterOp>(env, this, info.This().As<Napi::Object>(), opId, deadline, path_);
  Napi::Promise promise = op->Promise();
  waits_.Start(opId, std::move(op));
  return promise;
}

// newFifoOpener(path): FifoOpener. The path is checked to be a FIFO now, so that a wait is never
// started on something else.
Napi::Value NewFifoOpener(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FifoOpener::Pending pending{info[0].As<Napi::String>().Utf8Value()};
  CheckIsFifo(env, pending.path, "open");
  return Addon::Of(env).NewInstance<FifoOpener>({Napi::External<FifoOpener::Pending>::New(env, &pending)});
}

}  // namespace

void InitFifo(Napi::Env env, Napi::Object exports) {
  Napi::Function openerClass = FifoOpener::DefineClass(env);
  Addon::Of(env).RegisterClass<FifoOpener>(openerClass);
  exports.Set("FifoOpener", openerClass);
  exports.Set("makeFifo", Napi::Function::New<MakeFifo>(env, "makeFifo"));
  exports.Set("openFifo", Napi::Function::New<OpenFifo>(env, "openFifo"));
  exports.Set("newFifoOpener", Napi::Function::New<NewFifoOpener>(env, "newFifoOpener"));
}

}  // namespace ipckit::posix

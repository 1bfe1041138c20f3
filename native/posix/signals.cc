// Signals that carry a value: sigqueue(2) to send, and an SA_SIGINFO handler feeding a self-pipe
// to receive. A signalfd would need every thread of the process to block the signal, and Node's
// threads (libuv's pool, V8's, the inspector's) are not ours to change; a handler runs on whatever
// thread the kernel picks and only has to hand the siginfo fields to the event loop, which a
// non-blocking write() to a pipe does safely. The pipe's read end is watched with uv_poll.
#include "posix/signals.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "common/errors.h"
#include "common/handle.h"

namespace ipckit::posix {

namespace {

// Signal numbers index this table; Linux's _NSIG is 65 (1..64).
constexpr int kSlots = 65;

// What the handler writes for one signal: below PIPE_BUF, so each write is atomic and a reader
// sees whole records.
struct Record {
  int32_t signo;
  int32_t code;
  int32_t pid;
  int32_t uid;
  int32_t value;
};
constexpr int kRecordInts = sizeof(Record) / sizeof(int32_t);

static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");
static_assert(std::atomic<uint32_t>::is_always_lock_free, "the signal handler needs lock-free atomics");

// Signal disposition is per process while the addon's state is per environment, so this one
// table is process-wide: it is the exception to "nothing static and mutable", and that is why it
// exists. The handler touches only the atomics; `previous` and `owned` change under gTableMutex.
struct Slot {
  std::atomic<int> fd{-1};           // the pipe the handler writes to, -1: none
  std::atomic<int> inFlight{0};      // handlers between reading fd and finishing their write
  std::atomic<uint32_t> dropped{0};  // records the full pipe refused
  struct sigaction previous;         // what close() restores
  bool owned = false;
};

Slot gSlots[kSlots];
std::mutex gTableMutex;

void OnSignal(int signo, siginfo_t* info, void*) {
  // Only async-signal-safe work here: atomics and write(). errno belongs to the interrupted code.
  int savedErrno = errno;
  if (signo > 0 && signo < kSlots) {
    Slot& slot = gSlots[signo];
    slot.inFlight.fetch_add(1);
    int fd = slot.fd.load();
    if (fd >= 0) {
      Record record{signo, info->si_code, static_cast<int32_t>(info->si_pid), static_cast<int32_t>(info->si_uid), info->si_value.sival_int};
      // The pipe is non-blocking: a flood that fills it is counted, never waited for.
      if (write(fd, &record, sizeof record) != static_cast<ssize_t>(sizeof record)) slot.dropped.fetch_add(1);
    }
    slot.inFlight.fetch_sub(1);
  }
  errno = savedErrno;
}

bool IsOurs(const struct sigaction& action) { return (action.sa_flags & SA_SIGINFO) != 0 && action.sa_sigaction == OnSignal; }

bool IsUnclaimed(const struct sigaction& action) {
  return (action.sa_flags & SA_SIGINFO) == 0 && (action.sa_handler == SIG_DFL || action.sa_handler == SIG_IGN);
}

// Gives a slot back: the previous disposition returns unless someone replaced ipckit's handler in
// the meantime (then theirs stays), and the pipe is detached only once no handler still uses it,
// so the caller may close the descriptor right after.
void UninstallLocked(int signo) {
  Slot& slot = gSlots[signo];
  if (!slot.owned) return;
  struct sigaction current;
  if (sigaction(signo, nullptr, &current) == 0 && IsOurs(current)) sigaction(signo, &slot.previous, nullptr);
  slot.owned = false;
  slot.fd.store(-1);
  while (slot.inFlight.load() != 0) sched_yield();
}

std::string SignalLabel(int signo) {
  const char* abbrev = sigabbrev_np(signo);
  if (abbrev != nullptr) return std::string("SIG") + abbrev;
  if (signo == SIGRTMIN) return "SIGRTMIN";
  if (signo > SIGRTMIN && signo <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(signo - SIGRTMIN);
  return "signal " + std::to_string(signo);
}

// Takes `signals` for `fd`, all or none. Returns an empty string, or why one was refused.
std::string InstallAll(const std::vector<int>& signals, int fd, OsError* osError) {
  std::lock_guard<std::mutex> lock(gTableMutex);
  std::vector<int> done;
  auto rollback = [&]() {
    for (int signo : done) UninstallLocked(signo);
  };
  for (int signo : signals) {
    Slot& slot = gSlots[signo];
    struct sigaction current;
    if (sigaction(signo, nullptr, &current) != 0) {
      *osError = LastOsError("sigaction", SignalLabel(signo));
      rollback();
      return "os";
    }
    if (slot.owned || IsOurs(current)) {
      rollback();
      return SignalLabel(signo) + " is already received by another ipckit receiver in this process";
    }
    if (!IsUnclaimed(current)) {
      rollback();
      return SignalLabel(signo) + " already has a handler in this process (Node's, a process.on() listener's, or another library's)";
    }
    slot.previous = current;
    slot.dropped.store(0);
    slot.fd.store(fd);
    struct sigaction action = {};
    action.sa_sigaction = OnSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    if (sigaction(signo, &action, nullptr) != 0) {
      *osError = LastOsError("sigaction", SignalLabel(signo));
      slot.fd.store(-1);
      rollback();
      return "os";
    }
    slot.owned = true;
    done.push_back(signo);
  }
  return std::string();
}

void FreeHandle(uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); }

class SignalReceiver : public Handle<SignalReceiver> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b69745349ULL, 0x474e414c52763031ULL};
  static constexpr const char* kKindName = "signal receiver";

  struct Pending {
    std::vector<int> signals;
    int readFd;
    int writeFd;
    Napi::Function callback;
  };

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<SignalReceiver>::DefineClass(env, "SignalReceiver",
        {
            Method<&SignalReceiver::Ref>("ref"),
            Method<&SignalReceiver::Unref>("unref"),
            Method<&SignalReceiver::Close>("close"),
        });
  }

  explicit SignalReceiver(const Napi::CallbackInfo& info) : Handle<SignalReceiver>(info) {
    Pending* pending = PendingArg<Pending>(info);
    signals_ = pending->signals;
    readFd_ = pending->readFd;
    writeFd_ = pending->writeFd;
    pending->readFd = pending->writeFd = -1;  // owned here from now on
    callback_ = Napi::Persistent(pending->callback);
    env_ = info.Env();
    async_ = std::make_unique<Napi::AsyncContext>(info.Env(), "ipckit:SignalReceiver");
    // Pinned until close(): the receiver is an event source, like a listening socket.
    self_ = Napi::Persistent(info.This().As<Napi::Object>());
  }

  ~SignalReceiver() override { Release(); }

  void ReleaseForTeardown() override { Release(); }
  std::string name() const override { return "signals"; }

  // Starts watching the pipe; returns a libuv error (negative) or 0.
  int Start() {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env_, &loop);
    auto* poll = new uv_poll_t;
    int rc = uv_poll_init(loop, poll, readFd_);
    if (rc != 0) {
      delete poll;
      return rc;
    }
    poll->data = this;
    poll_ = poll;
    return uv_poll_start(poll_, UV_READABLE, OnReady);
  }

 private:
  // Gives the signals back, stops watching and closes the pipe; no JavaScript runs.
  void Release() {
    if (released_) return;
    released_ = true;
    {
      std::lock_guard<std::mutex> lock(gTableMutex);
      for (int signo : signals_) {
        if (gSlots[signo].owned && gSlots[signo].fd.load() == writeFd_) UninstallLocked(signo);
      }
    }
    if (poll_ != nullptr) uv_close(reinterpret_cast<uv_handle_t*>(poll_), FreeHandle);
    poll_ = nullptr;
    if (readFd_ >= 0) close(readFd_);
    if (writeFd_ >= 0) close(writeFd_);
    readFd_ = writeFd_ = -1;
    callback_.Reset();
    self_.Reset();
    MarkClosed();
  }

  static void OnReady(uv_poll_t* handle, int status, int) {
    auto* self = static_cast<SignalReceiver*>(handle->data);
    Napi::Env env(self->env_);
    Napi::HandleScope scope(env);
    self->Drain(env, status);
  }

  void Drain(Napi::Env env, int status) {
    std::vector<int32_t> values;
    char buffer[sizeof(Record) * 256];
    int error = status < 0 ? -status : 0;
    while (error == 0) {
      ssize_t n = read(readFd_, buffer, sizeof buffer);
      if (n > 0) {
        partial_.insert(partial_.end(), buffer, buffer + n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) error = errno;
      break;
    }
    size_t whole = partial_.size() / sizeof(Record);
    values.resize(whole * kRecordInts);
    if (whole > 0) std::memcpy(values.data(), partial_.data(), whole * sizeof(Record));
    partial_.erase(partial_.begin(), partial_.begin() + static_cast<std::ptrdiff_t>(whole * sizeof(Record)));
    double dropped = 0;
    for (int signo : signals_) {
      if (gSlots[signo].fd.load() == writeFd_) dropped += gSlots[signo].dropped.exchange(0);
    }
    if (whole == 0 && dropped == 0 && error == 0) return;
    Napi::Int32Array records = Napi::Int32Array::New(env, values.size());
    if (!values.empty()) std::memcpy(records.Data(), values.data(), values.size() * sizeof(int32_t));
    Napi::Value failure = error == 0 ? env.Null() : SystemError(env, OsError{error, "read", name()}).Value();
    // Keeps the function alive across the call, which may close() this receiver.
    Napi::Function callback = callback_.Value();
    try {
      callback.MakeCallback(env.Global(), {records, Napi::Number::New(env, dropped), failure}, *async_);
    } catch (const Napi::Error& error) {
      // Nothing above this libuv callback could catch it: report it as Node reports any
      // exception thrown by an event's listener, instead of letting it end the process in C++.
      napi_fatal_exception(env, error.Value());
    }
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }
  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  std::vector<int> signals_;
  int readFd_ = -1;
  int writeFd_ = -1;
  napi_env env_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  bool released_ = false;
  std::vector<char> partial_;
  Napi::FunctionReference callback_;
  Napi::ObjectReference self_;
  std::unique_ptr<Napi::AsyncContext> async_;
};

bool ValidSignal(int signo) { return signo > 0 && signo < kSlots && signo <= SIGRTMAX; }

// openSignalReceiver(signals: number[], callback(records: Int32Array, dropped: number, error)): SignalReceiver
// lib/signals.ts has refused the signals that must not be taken; this checks the dispositions.
Napi::Value OpenSignalReceiver(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array list = info[0].As<Napi::Array>();
  SignalReceiver::Pending pending{{}, -1, -1, info[1].As<Napi::Function>()};
  for (uint32_t i = 0; i < list.Length(); i++) {
    int signo = list.Get(i).As<Napi::Number>().Int32Value();
    if (!ValidSignal(signo))
      Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "signal " + std::to_string(signo) + " is out of range"));
    pending.signals.push_back(signo);
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) Throw(SystemError(env, LastOsError("pipe2")));
  // A burst of queued real-time signals is delivered before the loop drains anything; room for
  // tens of thousands of records (the default pipe-max-size) keeps such a burst whole. Where the
  // system allows less, the default 64 KiB stays and overflow is counted as dropped.
  fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
  pending.readFd = fds[0];
  pending.writeFd = fds[1];
  OsError osError{0, "sigaction", std::string()};
  std::string refused = InstallAll(pending.signals, fds[1], &osError);
  if (!refused.empty()) {
    close(fds[0]);
    close(fds[1]);
    if (refused == "os") Throw(SystemError(env, osError));
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_SIGNAL_IN_USE", refused));
  }
  Napi::Object object = Addon::Of(env).NewInstance<SignalReceiver>({Napi::External<SignalReceiver::Pending>::New(env, &pending)});
  SignalReceiver* receiver = Napi::ObjectWrap<SignalReceiver>::Unwrap(object);
  int rc = receiver->Start();
  if (rc != 0) {
    object.Get("close").As<Napi::Function>().Call(object, {});
    Throw(SystemError(env, OsError{-rc, "uv_poll_start", std::string("signals")}));
  }
  return object;
}

// sendSignal(pid: number, signal: number, value: number): void
Napi::Value SendSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = static_cast<pid_t>(info[0].As<Napi::Number>().Int32Value());
  int signo = info[1].As<Napi::Number>().Int32Value();
  union sigval value;
  std::memset(&value, 0, sizeof value);
  value.sival_int = info[2].As<Napi::Number>().Int32Value();
  if (sigqueue(pid, signo, value) != 0) {
    OsError error = LastOsError("sigqueue", std::to_string(pid));
    if (error.code == EAGAIN) {
      // The limit of the receiving process's user, which this process reads as its own when both
      // run as one user (the common case); the hint names it either way.
      struct rlimit limit;
      double value = getrlimit(RLIMIT_SIGPENDING, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY ? static_cast<double>(limit.rlim_cur)
                                                                                                  : std::numeric_limits<double>::infinity();
      error.limit = Limit{"RLIMIT_SIGPENDING", value,
          "the receiving user's queue of pending signals is full: RLIMIT_SIGPENDING reached; the receiver must take signals first"};
    }
    Throw(SystemError(env, error));
  }
  return env.Undefined();
}

// signalDisposition(signal): 'default' | 'ignore' | 'ipckit' | 'other', for tests and diagnostics.
Napi::Value SignalDisposition(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int signo = info[0].As<Napi::Number>().Int32Value();
  struct sigaction current;
  if (!ValidSignal(signo) || sigaction(signo, nullptr, &current) != 0)
    Throw(SystemError(env, OsError{EINVAL, "sigaction", std::to_string(signo)}));
  if (IsOurs(current)) return Napi::String::New(env, "ipckit");
  if ((current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == SIG_DFL) return Napi::String::New(env, "default");
  if ((current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == SIG_IGN) return Napi::String::New(env, "ignore");
  return Napi::String::New(env, "other");
}

}  // namespace

void InitSignals(Napi::Env env, Napi::Object exports) {
  Napi::Function receiverClass = SignalReceiver::DefineClass(env);
  Addon::Of(env).RegisterClass<SignalReceiver>(receiverClass);
  exports.Set("SignalReceiver", receiverClass);
  exports.Set("openSignalReceiver", Napi::Function::New<OpenSignalReceiver>(env, "openSignalReceiver"));
  exports.Set("sendSignal", Napi::Function::New<SendSignal>(env, "sendSignal"));
  exports.Set("signalDisposition", Napi::Function::New<SignalDisposition>(env, "signalDisposition"));
  Napi::Object numbers = Napi::Object::New(env);
  numbers.Set("rtmin", Napi::Number::New(env, SIGRTMIN));
  numbers.Set("rtmax", Napi::Number::New(env, SIGRTMAX));
  // native/posix/cancel.cc's wake signal for waiter threads.
  numbers.Set("cancel", Napi::Number::New(env, SIGRTMAX - 4));
  numbers.Freeze();
  exports.Set("signalNumbers", numbers);
}

}  // namespace ipckit::posix

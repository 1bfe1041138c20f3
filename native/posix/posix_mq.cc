// POSIX message queues (mq_open and friends). On Linux a queue descriptor is a file descriptor:
// the queue is opened non-blocking and waits are uv_poll watches on the event loop, with no
// thread at all.
#include "posix/posix_mq.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/addon.h"
#include "common/bytes.h"
#include "common/constants.h"
#include "common/errors.h"
#include "posix/sysv_common.h"

namespace ipckit::posix {

namespace {

constexpr uint32_t kCreate = kQueueCreate;
constexpr uint32_t kExclusive = kQueueExclusive;

Napi::Error TooLarge(Napi::Env env, const std::string& message, const Limit& limit) {
  return LibraryError(env, ErrorKind::kError, "ERR_IPC_MESSAGE_TOO_LARGE", message, limit);
}

// The ceilings a process with CAP_SYS_RESOURCE may go up to (Linux's HARD_MSGMAX, HARD_MSGSIZEMAX).
constexpr long kHardMsgMax = 65536;
constexpr long kHardMsgsizeMax = 16L * 1024 * 1024;

// The system's limits and defaults for POSIX queues, read at the call (/proc/sys/fs/mqueue).
struct MqueueLimits {
  long msgMax = ReadProcLong(limit::kMqMsgMax, 10);
  long msgsizeMax = ReadProcLong(limit::kMqMsgsizeMax, 8192);
  long msgDefault = ReadProcLong("/proc/sys/fs/mqueue/msg_default", 10);
  long msgsizeDefault = ReadProcLong("/proc/sys/fs/mqueue/msgsize_default", 8192);
  long queuesMax = ReadProcLong(limit::kMqQueuesMax, 256);
};

// This process's RLIMIT_MSGQUEUE (soft), in bytes: Infinity when unlimited, NaN if unknown.
double MsgqueueRlimit() {
  struct rlimit current;
  if (getrlimit(RLIMIT_MSGQUEUE, &current) != 0) return NAN;
  return current.rlim_cur == RLIM_INFINITY ? INFINITY : static_cast<double>(current.rlim_cur);
}

// Which limit refused creating a queue with `attrs` (null: the system's defaults), if one did.
Limit MqOpenLimit(int code, const struct mq_attr* attrs) {
  MqueueLimits limits;
  long maxMessages = attrs != nullptr ? attrs->mq_maxmsg : limits.msgDefault;
  long messageSize = attrs != nullptr ? attrs->mq_msgsize : limits.msgsizeDefault;
  if (code == EINVAL && maxMessages > limits.msgMax) {
    return Limit{limit::kMqMsgMax, static_cast<double>(limits.msgMax),
                 "maxMessages " + std::to_string(maxMessages) + " exceeds " + limit::kMqMsgMax + " = " + std::to_string(limits.msgMax) +
                     " (a process with CAP_SYS_RESOURCE may go up to " + std::to_string(kHardMsgMax) + ")"};
  }
  if (code == EINVAL && messageSize > limits.msgsizeMax) {
    return Limit{limit::kMqMsgsizeMax, static_cast<double>(limits.msgsizeMax),
                 "messageSize " + std::to_string(messageSize) + " exceeds " + limit::kMqMsgsizeMax + " = " +
                     std::to_string(limits.msgsizeMax) + " (a process with CAP_SYS_RESOURCE may go up to " +
                     std::to_string(kHardMsgsizeMax) + ")"};
  }
  if (code == EMFILE) {
    double rlimit = MsgqueueRlimit();
    std::string shown = std::isinf(rlimit) ? "unlimited" : std::isnan(rlimit) ? "unknown" : std::to_string(static_cast<long long>(rlimit));
    return Limit{limit::kRlimitMsgqueue, rlimit,
                 "this user's queues would need more than " + std::string(limit::kRlimitMsgqueue) + " = " + shown +
                     " bytes (`ulimit -q`; each queue reserves about maxMessages * (messageSize + pointer)), or the process is out of descriptors"};
  }
  if (code == ENOSPC) {
    return Limit{limit::kMqQueuesMax, static_cast<double>(limits.queuesMax),
                 "the system's " + std::string(limit::kMqQueuesMax) + " = " + std::to_string(limits.queuesMax) + " queues exist already"};
  }
  return Limit{};
}

class PosixQueue : public Napi::ObjectWrap<PosixQueue>, public Closeable {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b6974504fULL, 0x5349584d51763031ULL};
  static constexpr const char* kKindName = "POSIX message queue";

  struct Pending {
    mqd_t mqd;
    std::string name;
    bool created;
  };

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<PosixQueue>::DefineClass(
        env, "PosixQueue",
        {
            InstanceAccessor<&PosixQueue::Created>("created"),
            InstanceAccessor<&PosixQueue::MessageSize>("messageSize"),
            InstanceMethod<&PosixQueue::Attributes>("attributes"),
            InstanceMethod<&PosixQueue::TrySend>("trySend"),
            InstanceMethod<&PosixQueue::TryReceiveInto>("tryReceiveInto"),
            InstanceMethod<&PosixQueue::Send>("send"),
            InstanceMethod<&PosixQueue::Receive>("receive"),
            InstanceMethod<&PosixQueue::Stop>("stop"),
            InstanceMethod<&PosixQueue::Ref>("ref"),
            InstanceMethod<&PosixQueue::Unref>("unref"),
            InstanceMethod<&PosixQueue::Close>("close"),
        });
  }

  explicit PosixQueue(const Napi::CallbackInfo& info) : ObjectWrap<PosixQueue>(info), async_(info.Env(), "ipckit:PosixMessageQueue") {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsExternal()) {
      Throw(LibraryError(env, ErrorKind::kTypeError, "ERR_ILLEGAL_CONSTRUCTOR", "queues are created by the open functions"));
    }
    Pending* pending = info[0].As<Napi::External<Pending>>().Data();
    mqd_ = pending->mqd;
    pending->mqd = static_cast<mqd_t>(-1);  // owned here from now on
    name_ = pending->name;
    created_ = pending->created;
    struct mq_attr attr;
    if (mq_getattr(mqd_, &attr) == 0) messageSize_ = static_cast<size_t>(attr.mq_msgsize);
    scratch_.resize(messageSize_);
    info.This().As<Napi::Object>().TypeTag(&kTypeTag);
    registry_ = Addon::Of(env).registry;
    registry_->Add(this);
    env_ = env;
  }

  ~PosixQueue() override {
    registry_->Remove(this);
    Release();
  }

  void ReleaseForTeardown() override {
    sends_.clear();
    receives_.clear();
    Release();
  }

 private:
  struct Op {
    double id;
    Napi::Promise::Deferred deferred;
    std::vector<char> data;  // sends: the message, copied at call time
    unsigned priority = 0;
  };

  // Stops watching, closes the descriptor. The uv_poll_t is freed by its close callback.
  void Release() {
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
      poll_ = nullptr;
    }
    if (mqd_ != static_cast<mqd_t>(-1)) mq_close(mqd_);
    mqd_ = static_cast<mqd_t>(-1);
    closed_ = true;
  }

  void CheckOpen(Napi::Env env) const {
    if (closed_) Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_CLOSED", "The POSIX message queue is closed"));
  }

  Napi::Error OsFailure(Napi::Env env, int code, const char* syscall) const {
    return SystemError(env, OsError{code, syscall, name_});
  }

  void CheckSize(Napi::Env env, size_t length) const {
    if (length > messageSize_) {
      Throw(TooLarge(env, "a message of " + std::to_string(length) + " bytes exceeds the queue's messageSize of " +
                              std::to_string(messageSize_) + " bytes",
                     Limit{limit::kMqMsgsize, static_cast<double>(messageSize_), std::string()}));
    }
  }

  Napi::Value Created(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), created_); }
  Napi::Value MessageSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(messageSize_)); }

  Napi::Value Attributes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    struct mq_attr attr;
    if (mq_getattr(mqd_, &attr) != 0) Throw(OsFailure(env, errno, "mq_getattr"));
    Napi::Object result = Napi::Object::New(env);
    result.Set("maxMessages", Napi::Number::New(env, static_cast<double>(attr.mq_maxmsg)));
    result.Set("messageSize", Napi::Number::New(env, static_cast<double>(attr.mq_msgsize)));
    result.Set("currentMessages", Napi::Number::New(env, static_cast<double>(attr.mq_curmsgs)));
    return result;
  }

  // Returns 1 if sent, 0 if the queue is full, throws otherwise.
  int SendNow(Napi::Env env, const char* data, size_t length, unsigned priority) {
    // An empty message's bytes may be at NULL (an empty ArrayBuffer has none, nor has an empty
    // std::vector), and mq_send's buffer is declared nonnull whatever the length.
    static const char kNoBytes[1] = {0};
    if (data == nullptr) data = kNoBytes;
    for (;;) {
      if (mq_send(mqd_, data, length, priority) == 0) return 1;
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0;
      if (errno == EMSGSIZE) CheckSize(env, length);
      Throw(OsFailure(env, errno, "mq_send"));
    }
  }

  // Returns the message, or an empty value if the queue is empty; throws otherwise.
  Napi::Value ReceiveNow(Napi::Env env) {
    unsigned priority = 0;
    for (;;) {
      ssize_t n = mq_receive(mqd_, scratch_.data(), scratch_.size(), &priority);
      if (n >= 0) {
        Napi::Object message = Napi::Object::New(env);
        message.Set("data", Napi::Buffer<char>::Copy(env, scratch_.data(), static_cast<size_t>(n)));
        message.Set("priority", Napi::Number::New(env, priority));
        return message;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return Napi::Value();
      Throw(OsFailure(env, errno, "mq_receive"));
    }
  }

  // trySend(data, priority): boolean
  Napi::Value TrySend(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    ByteSpan bytes = BytesOf(info[0]);
    unsigned priority = info[1].As<Napi::Number>().Uint32Value();
    CheckSize(env, bytes.length);
    return Napi::Boolean::New(env, SendNow(env, bytes.data, bytes.length, priority) == 1);
  }

  // tryReceiveInto(slab, offset, spinMicros?): length | -1. The message goes to slab[offset + 8 ...] and its
  // priority to slab[offset .. offset + 4) (native byte order); there must be room for
  // 8 + messageSize bytes. lib/ hands the bytes out as a slice: nothing is allocated here.
  Napi::Value TryReceiveInto(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    ByteSpan slab = BytesOf(info[0]);
    size_t offset = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());
    if (offset + 8 + messageSize_ > slab.length || reinterpret_cast<uintptr_t>(slab.data + offset) % alignof(uint32_t) != 0) {
      Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "the receive area is misaligned or too small"));
    }
    ByteSpan target{slab.data + offset, 8 + messageSize_};
    char* raw = const_cast<char*>(target.data);
    unsigned priority = 0;
    // spinMicros: if the queue is empty, wait this long for it to become readable (ppoll on the
    // descriptor) before giving up: a reply within microseconds then costs no event-loop round.
    double spinMicros = info.Length() > 2 ? info[2].As<Napi::Number>().DoubleValue() : 0;
    struct timespec deadline = {};
    if (spinMicros > 0) {
      clock_gettime(CLOCK_MONOTONIC, &deadline);
      deadline.tv_nsec += static_cast<long>(spinMicros) * 1000;
      deadline.tv_sec += deadline.tv_nsec / 1000000000L;
      deadline.tv_nsec %= 1000000000L;
    }
    for (;;) {
      ssize_t n = mq_receive(mqd_, raw + 8, target.length - 8, &priority);
      if (n >= 0) {
        *reinterpret_cast<uint32_t*>(raw) = priority;
        return Napi::Number::New(env, static_cast<double>(n));
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN) Throw(OsFailure(env, errno, "mq_receive"));
      if (spinMicros <= 0) return Napi::Number::New(env, -1);
      struct timespec now, left;
      clock_gettime(CLOCK_MONOTONIC, &now);
      left.tv_sec = deadline.tv_sec - now.tv_sec;
      left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
      if (left.tv_nsec < 0) {
        left.tv_sec--;
        left.tv_nsec += 1000000000L;
      }
      if (left.tv_sec < 0) return Napi::Number::New(env, -1);
      struct pollfd watch = {static_cast<int>(mqd_), POLLIN, 0};
      if (ppoll(&watch, 1, &left, nullptr) == 0) return Napi::Number::New(env, -1);
    }
  }

  // send(opId, data, priority): Promise<void>, once the queue has room.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    ByteSpan bytes = BytesOf(info[1]);
    CheckSize(env, bytes.length);
    Op op{info[0].As<Napi::Number>().DoubleValue(), Napi::Promise::Deferred::New(env),
          std::vector<char>(bytes.data, bytes.data + bytes.length), info[2].As<Napi::Number>().Uint32Value()};
    Napi::Promise promise = op.deferred.Promise();
    sends_.push_back(std::move(op));
    Watch(env);
    return promise;
  }

  // receive(opId): Promise<{ data, priority }>, once a message arrives.
  Napi::Value Receive(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    receives_.push_back(Op{info[0].As<Napi::Number>().DoubleValue(), Napi::Promise::Deferred::New(env), {}, 0});
    Napi::Promise promise = receives_.back().deferred.Promise();
    Watch(env);
    return promise;
  }

  // stop(opId, code): settles a pending operation with the library error `code`, at once: the
  // operation is only a record on this thread, so nothing can be half done.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    double id = info[0].As<Napi::Number>().DoubleValue();
    std::string code = info[1].As<Napi::String>().Utf8Value();
    for (auto* list : {&sends_, &receives_}) {
      for (auto it = list->begin(); it != list->end(); ++it) {
        if (it->id != id) continue;
        Napi::Promise::Deferred deferred = it->deferred;
        bool send = list == &sends_;
        list->erase(it);
        deferred.Reject(StopError(env, code, send ? "send" : "receive", "POSIX message queue").Value());
        Watch(env);
        return env.Undefined();
      }
    }
    return env.Undefined();
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    referenced_ = true;
    if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    referenced_ = false;
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) return env.Undefined();
    std::deque<Op> sends, receives;
    sends.swap(sends_);
    receives.swap(receives_);
    Release();
    for (Op& op : sends) op.deferred.Reject(StopError(env, "ERR_IPC_CLOSED", "send", "POSIX message queue").Value());
    for (Op& op : receives) op.deferred.Reject(StopError(env, "ERR_IPC_CLOSED", "receive", "POSIX message queue").Value());
    self_.Reset();
    return env.Undefined();
  }

  // Watches the descriptor for what the pending operations need, or stops watching. While
  // anything is pending, the JS object is pinned so it cannot be collected mid-wait.
  void Watch(Napi::Env env) {
    int events = (receives_.empty() ? 0 : UV_READABLE) | (sends_.empty() ? 0 : UV_WRITABLE);
    if (events == 0) {
      if (poll_ != nullptr) uv_poll_stop(poll_);
      self_.Reset();
      return;
    }
    if (self_.IsEmpty()) self_ = Napi::Persistent(Value());
    if (poll_ == nullptr) {
      uv_loop_t* loop = nullptr;
      napi_get_uv_event_loop(env, &loop);
      poll_ = new uv_poll_t;
      int rc = uv_poll_init(loop, poll_, mqd_);
      if (rc != 0) {
        delete poll_;
        poll_ = nullptr;
        Throw(SystemError(env, OsError{-rc, "uv_poll_init", name_}));
      }
      poll_->data = this;
      if (!referenced_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    }
    if (events != watching_ || !uv_is_active(reinterpret_cast<uv_handle_t*>(poll_))) {
      uv_poll_start(poll_, events, OnReady);
      watching_ = events;
    }
  }

  static void OnReady(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<PosixQueue*>(handle->data);
    Napi::Env env = self->env_;
    Napi::HandleScope scope(env);
    // Settling inside a callback scope runs the promise reactions (microtasks) right after.
    Napi::CallbackScope callbackScope(env, self->async_);
    try {
      self->Service(env, status, events);
    } catch (const Napi::Error& error) {
      error.ThrowAsJavaScriptException();
    }
  }

  void Service(Napi::Env env, int status, int events) {
    if (status < 0) {
      // The watch itself failed: fail everything pending rather than hang.
      Napi::Error error = SystemError(env, OsError{-status, "uv_poll", name_});
      for (Op& op : sends_) op.deferred.Reject(error.Value());
      for (Op& op : receives_) op.deferred.Reject(error.Value());
      sends_.clear();
      receives_.clear();
      Watch(env);
      return;
    }
    // Serve in call order until the kernel says "not now"; a send keeps its place in line.
    if (events & UV_WRITABLE) {
      while (!sends_.empty() && !closed_) {
        Op& op = sends_.front();
        int sent;
        try {
          sent = SendNow(env, op.data.data(), op.data.size(), op.priority);
        } catch (const Napi::Error& error) {
          Napi::Promise::Deferred deferred = op.deferred;
          sends_.pop_front();
          deferred.Reject(error.Value());
          continue;
        }
        if (!sent) break;
        Napi::Promise::Deferred deferred = op.deferred;
        sends_.pop_front();
        deferred.Resolve(env.Undefined());
      }
    }
    if (events & UV_READABLE) {
      while (!receives_.empty() && !closed_) {
        Napi::Value message;
        try {
          message = ReceiveNow(env);
        } catch (const Napi::Error& error) {
          Napi::Promise::Deferred deferred = receives_.front().deferred;
          receives_.pop_front();
          deferred.Reject(error.Value());
          continue;
        }
        if (message.IsEmpty()) break;
        Napi::Promise::Deferred deferred = receives_.front().deferred;
        receives_.pop_front();
        deferred.Resolve(message);
      }
    }
    if (!closed_) Watch(env);
  }

  mqd_t mqd_ = static_cast<mqd_t>(-1);
  std::string name_;
  bool created_ = false;
  bool closed_ = false;
  bool referenced_ = true;
  size_t messageSize_ = 8192;
  std::vector<char> scratch_;
  std::deque<Op> sends_;
  std::deque<Op> receives_;
  uv_poll_t* poll_ = nullptr;
  int watching_ = 0;
  Napi::ObjectReference self_;
  Napi::AsyncContext async_;
  napi_env env_ = nullptr;
  std::shared_ptr<HandleRegistry> registry_;
};

// openPosixQueue(name, flags, mode, maxMessages (0: default), messageSize (0: default)): PosixQueue
Napi::Value OpenPosixQueue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  uint32_t flags = info[1].As<Napi::Number>().Uint32Value();
  mode_t mode = static_cast<mode_t>(info[2].As<Napi::Number>().Uint32Value() & 0777);
  long maxMessages = static_cast<long>(info[3].As<Napi::Number>().Int64Value());
  long messageSize = static_cast<long>(info[4].As<Napi::Number>().Int64Value());
  struct mq_attr attr = {};
  attr.mq_maxmsg = maxMessages;
  attr.mq_msgsize = messageSize;
  struct mq_attr* attrs = (maxMessages > 0 || messageSize > 0) ? &attr : nullptr;
  if (attrs != nullptr && (attr.mq_maxmsg == 0 || attr.mq_msgsize == 0)) {
    // Only one of the two was given: take the other from the system's defaults.
    MqueueLimits defaults;
    if (attr.mq_maxmsg == 0) attr.mq_maxmsg = defaults.msgDefault;
    if (attr.mq_msgsize == 0) attr.mq_msgsize = defaults.msgsizeDefault;
  }
  int access = O_RDWR | O_NONBLOCK | O_CLOEXEC;
  bool created = false;
  mqd_t mqd = static_cast<mqd_t>(-1);
  if (flags & kCreate) {
    mqd = mq_open(name.c_str(), access | O_CREAT | O_EXCL, mode, attrs);
    if (mqd != static_cast<mqd_t>(-1)) {
      created = true;
    } else if (errno == EEXIST && !(flags & kExclusive)) {
      mqd = mq_open(name.c_str(), access);
    }
  } else {
    mqd = mq_open(name.c_str(), access);
  }
  if (mqd == static_cast<mqd_t>(-1)) {
    OsError error = LastOsError("mq_open", name);
    // Only creating meets these limits; opening an existing queue fails for the queue's reasons.
    if (flags & kCreate) error.limit = MqOpenLimit(error.code, attrs);
    Throw(SystemError(env, error));
  }
  // mq_open's mode is filtered by the umask; the caller asked for exactly `mode`.
  if (created && fchmod(mqd, mode) != 0) {
    OsError error = LastOsError("fchmod", name);
    mq_close(mqd);
    mq_unlink(name.c_str());
    Throw(SystemError(env, error));
  }
  PosixQueue::Pending pending{mqd, name, created};
  try {
    return Addon::Of(env).posixQueueClass.New({Napi::External<PosixQueue::Pending>::New(env, &pending)});
  } catch (...) {
    if (pending.mqd != static_cast<mqd_t>(-1)) mq_close(pending.mqd);
    throw;
  }
}

// posixQueueLimits(): { msgMax, msgsizeMax, msgDefault, msgsizeDefault, queuesMax }
Napi::Value PosixQueueLimits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MqueueLimits limits;
  Napi::Object result = Napi::Object::New(env);
  result.Set("msgMax", Napi::Number::New(env, static_cast<double>(limits.msgMax)));
  result.Set("msgsizeMax", Napi::Number::New(env, static_cast<double>(limits.msgsizeMax)));
  result.Set("msgDefault", Napi::Number::New(env, static_cast<double>(limits.msgDefault)));
  result.Set("msgsizeDefault", Napi::Number::New(env, static_cast<double>(limits.msgsizeDefault)));
  result.Set("queuesMax", Napi::Number::New(env, static_cast<double>(limits.queuesMax)));
  return result;
}

// unlinkPosixQueue(name)
Napi::Value UnlinkPosixQueue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (mq_unlink(name.c_str()) != 0) Throw(SystemError(env, LastOsError("mq_unlink", name)));
  return env.Undefined();
}

}  // namespace

void InitPosixMessageQueue(Napi::Env env, Napi::Object exports) {
  Napi::Function queueClass = PosixQueue::DefineClass(env);
  Addon::Of(env).posixQueueClass = Napi::Persistent(queueClass);
  exports.Set("PosixQueue", queueClass);
  exports.Set("openPosixQueue", Napi::Function::New<OpenPosixQueue>(env, "openPosixQueue"));
  exports.Set("unlinkPosixQueue", Napi::Function::New<UnlinkPosixQueue>(env, "unlinkPosixQueue"));
  exports.Set("posixQueueLimits", Napi::Function::New<PosixQueueLimits>(env, "posixQueueLimits"));
  Napi::Object constants = Napi::Object::New(env);
  // glibc's headers leave MQ_PRIO_MAX to sysconf; Linux's is 32768.
  long priorities = sysconf(_SC_MQ_PRIO_MAX);
  constants.Set("priorityMax", Napi::Number::New(env, static_cast<double>((priorities > 0 ? priorities : 32768) - 1)));
  SetConstantGroup(exports, "posixQueue", constants);
}

}  // namespace ipckit::posix

// POSIX message queues (mq_open and friends). On Linux a queue descriptor is a file descriptor:
// the queue is opened non-blocking and waits are uv_poll watches on the event loop
// (posix/poll_waits.h), with no thread at all.
#include "linux/posix_mq.h"

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
#include "common/handle.h"
#include "linux/sysv_common.h"
#include "posix/poll_waits.h"

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
        "messageSize " + std::to_string(messageSize) + " exceeds " + limit::kMqMsgsizeMax + " = " + std::to_string(limits.msgsizeMax) +
            " (a process with CAP_SYS_RESOURCE may go up to " + std::to_string(kHardMsgsizeMax) + ")"};
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

class PosixQueue : public WaitingHandle<PosixQueue>, public PollWaits::Client {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b6974504fULL, 0x5349584d51763031ULL};
  static constexpr const char* kKindName = "POSIX message queue";

  struct Pending {
    mqd_t mqd;
    std::string name;
    bool created;
  };

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<PosixQueue>::DefineClass(env, "PosixQueue",
        WithWaitMethods({
            Getter<&PosixQueue::Created>("created"),
            Getter<&PosixQueue::MessageSize>("messageSize"),
            Method<&PosixQueue::Attributes>("attributes"),
            Method<&PosixQueue::TrySend>("trySend"),
            Method<&PosixQueue::TryReceiveInto>("tryReceiveInto"),
            Method<&PosixQueue::Send>("send"),
            Method<&PosixQueue::Receive>("receive"),
            Method<&PosixQueue::Close>("close"),
        }));
  }

  explicit PosixQueue(const Napi::CallbackInfo& info) : WaitingHandle<PosixQueue>(info), waits_(this, "ipckit:PosixMessageQueue") {
    Pending* pending = PendingArg<Pending>(info);
    mqd_ = pending->mqd;
    pending->mqd = static_cast<mqd_t>(-1);  // owned here from now on
    name_ = pending->name;
    created_ = pending->created;
    struct mq_attr attr;
    if (mq_getattr(mqd_, &attr) == 0) messageSize_ = static_cast<size_t>(attr.mq_msgsize);
    scratch_.resize(messageSize_);
  }

  ~PosixQueue() override { Release(); }

  void ReleaseForTeardown() override { Release(); }
  std::string name() const override { return name_; }

 protected:
  WaitSet& waits() override { return waits_; }

 private:
  // Stops watching, closes the descriptor.
  void Release() {
    waits_.Release();
    if (mqd_ != static_cast<mqd_t>(-1)) mq_close(mqd_);
    mqd_ = static_cast<mqd_t>(-1);
    MarkClosed();
  }

  void CheckSize(Napi::Env env, size_t length) const {
    if (length > messageSize_) {
      Throw(TooLarge(env,
          "a message of " + std::to_string(length) + " bytes exceeds the queue's messageSize of " + std::to_string(messageSize_) + " bytes",
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

  // PollWaits::Client
  bool TryNow(Napi::Env env, PollWaits::Op& op) override {
    if (op.direction == PollWaits::kWrite) {
      if (!SendNow(env, op.data.data(), op.data.size(), op.arg)) return false;
      op.deferred.Resolve(env.Undefined());
      return true;
    }
    Napi::Value message = ReceiveNow(env);
    if (message.IsEmpty()) return false;
    op.deferred.Resolve(message);
    return true;
  }

  Napi::Error Stopped(Napi::Env env, const PollWaits::Op& op, StopReason reason) override {
    return StopError(env, reason, op.direction == PollWaits::kWrite ? "send" : "receive", "POSIX message queue");
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

  // send(opId, timeoutMs | -1, data, priority): Promise<void>, once the queue has room.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    ByteSpan bytes = BytesOf(info[2]);
    CheckSize(env, bytes.length);
    PollWaits::Op op(env);
    op.id = info[0].As<Napi::Number>().DoubleValue();
    op.direction = PollWaits::kWrite;
    op.deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
    op.data.assign(bytes.data, bytes.data + bytes.length);
    op.arg = info[3].As<Napi::Number>().Uint32Value();
    return waits_.Add(env, Value(), static_cast<int>(mqd_), std::move(op));
  }

  // receive(opId, timeoutMs | -1): Promise<{ data, priority }>, once a message arrives.
  Napi::Value Receive(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    PollWaits::Op op(env);
    op.id = info[0].As<Napi::Number>().DoubleValue();
    op.direction = PollWaits::kRead;
    op.deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
    return waits_.Add(env, Value(), static_cast<int>(mqd_), std::move(op));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed()) return env.Undefined();
    waits_.StopAll(StopReason::kClosed);
    Release();
    return env.Undefined();
  }

  mqd_t mqd_ = static_cast<mqd_t>(-1);
  std::string name_;
  bool created_ = false;
  size_t messageSize_ = 8192;
  std::vector<char> scratch_;
  PollWaits waits_;
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
    return Addon::Of(env).NewInstance<PosixQueue>({Napi::External<PosixQueue::Pending>::New(env, &pending)});
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
  Addon::Of(env).RegisterClass<PosixQueue>(queueClass);
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

// System V message queues: msgget, msgsnd, msgrcv, msgctl. Non-waiting calls run on the
// JavaScript thread with IPC_NOWAIT; waits run on the addon's own waiter threads.
#include "linux/sysv_mq.h"

#include <errno.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/stat.h>

#include <sched.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/addon.h"
#include "common/bytes.h"
#include "common/errors.h"
#include "common/handle.h"
#include "common/waiter.h"
#include "linux/sysv_common.h"

namespace ipckit::posix {

namespace {

constexpr uint32_t kCreate = kSysVCreate;
constexpr uint32_t kExclusive = kSysVExclusive;
constexpr uint32_t kPrivate = kSysVPrivate;

Napi::Error TooLarge(Napi::Env env, const std::string& message, const Limit& limit = Limit{}) {
  return LibraryError(env, ErrorKind::kError, "ERR_IPC_MESSAGE_TOO_LARGE", message, limit);
}

class SysVQueue;

// A message buffer as msgsnd/msgrcv want it: a long type, then the bytes.
class MessageBuffer {
 public:
  void Reserve(size_t textSize) {
    if (textSize <= capacity_ && storage_) return;
    storage_.reset(new long[1 + (textSize + sizeof(long) - 1) / sizeof(long)]);
    capacity_ = textSize;
  }
  long& type() { return storage_[0]; }
  char* text() { return reinterpret_cast<char*>(storage_.get() + 1); }
  void* raw() { return storage_.get(); }

 private:
  std::unique_ptr<long[]> storage_;
  size_t capacity_ = 0;
};

class SysVQueue : public WaitingHandle<SysVQueue> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b69745356ULL, 0x6d73677175657565ULL};
  static constexpr const char* kKindName = "System V message queue";

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<SysVQueue>::DefineClass(env, "SysVQueue",
        WithWaitMethods({
            Getter<&SysVQueue::Id>("id"),
            Getter<&SysVQueue::Name>("name"),
            Getter<&SysVQueue::Created>("created"),
            Getter<&SysVQueue::MessageMax>("msgmax"),
            Method<&SysVQueue::TrySend>("trySend"),
            Method<&SysVQueue::TryReceiveInto>("tryReceiveInto"),
            Method<&SysVQueue::Send>("send"),
            Method<&SysVQueue::Receive>("receive"),
            Method<&SysVQueue::Stat>("stat"),
            Method<&SysVQueue::Set>("set"),
            Method<&SysVQueue::Remove>("remove"),
            Method<&SysVQueue::Close>("close"),
        }));
  }

  struct Pending {
    int id;
    double key;
    bool created;
  };

  explicit SysVQueue(const Napi::CallbackInfo& info) : WaitingHandle<SysVQueue>(info) {
    Pending* pending = PendingArg<Pending>(info);
    id_ = pending->id;
    key_ = pending->key;
    created_ = pending->created;
    msgmax_ = static_cast<size_t>(ReadProcLong(limit::kMsgmax, 8192));
    waits_.Bind(Addon::Of(info.Env()).waiters);
  }

  void ReleaseForTeardown() override {
    // The waiter pool's own teardown stops and frees the operations.
    waits_.Clear();
    MarkClosed();
  }

  int id() const { return id_; }
  std::string name() const override {
    if (name_.empty()) name_ = KeyName(key_);
    return name_;
  }
  void Forget(double opId) { waits_.Finish(opId); }

  Napi::Error OsFailure(Napi::Env env, int code, const char* syscall) const {
    if (code == E2BIG && std::strcmp(syscall, "msgrcv") == 0) {
      return TooLarge(env, "the next message is larger than maxSize; pass a larger maxSize, or noError: true to truncate it");
    }
    return Handle::OsFailure(env, code, syscall);
  }

 protected:
  WaitSet& waits() override { return waits_; }

 private:
  friend class SysVSendOp;
  friend class SysVReceiveOp;

  void CheckSendSize(Napi::Env env, size_t length) const {
    if (length > msgmax_) {
      Throw(TooLarge(env,
          "a message of " + std::to_string(length) + " bytes exceeds the kernel's msgmax of " + std::to_string(msgmax_) + " bytes (" +
              limit::kMsgmax + ")",
          Limit{limit::kMsgmax, static_cast<double>(msgmax_), std::string()}));
    }
  }

  // lib/ bounds maxSize the same way; here so no receive sizes a buffer from an unbounded number
  // (a negative one would be huge as a size_t).
  void CheckReceiveSize(Napi::Env env, int64_t maxSize) const {
    if (maxSize < 0 || static_cast<uint64_t>(maxSize) > msgmax_) {
      Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE",
          "maxSize must be >= 0 and <= " + std::to_string(msgmax_) + " (the kernel's msgmax, " + limit::kMsgmax + ")",
          Limit{limit::kMsgmax, static_cast<double>(msgmax_), std::string()}));
    }
  }

  // A message that can never fit would wait forever: refuse it instead.
  void CheckFitsQueue(Napi::Env env, size_t length) {
    struct msqid_ds ds;
    if (msgctl(id_, IPC_STAT, &ds) != 0) Throw(OsFailure(env, errno, "msgctl"));
    knownMaxBytes_ = ds.msg_qbytes;
    if (length > ds.msg_qbytes) {
      Throw(TooLarge(env,
          "a message of " + std::to_string(length) + " bytes can never fit a queue of " + std::to_string(ds.msg_qbytes) +
              " bytes (its maxBytes, " + limit::kMsgQbytes + ")",
          Limit{limit::kMsgQbytes, static_cast<double>(ds.msg_qbytes), std::string()}));
    }
  }

  Napi::Value Id(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), id_); }
  Napi::Value Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name()); }
  Napi::Value Created(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), created_); }
  Napi::Value MessageMax(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(msgmax_)); }

  // trySend(type, data): boolean
  Napi::Value TrySend(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    long type = static_cast<long>(info[0].As<Napi::Number>().Int64Value());
    ByteSpan bytes = BytesOf(info[1]);
    CheckSendSize(env, bytes.length);
    scratch_.Reserve(bytes.length);
    scratch_.type() = type;
    if (bytes.length) std::memcpy(scratch_.text(), bytes.data, bytes.length);
    for (;;) {
      if (msgsnd(id_, scratch_.raw(), bytes.length, IPC_NOWAIT) == 0) return Napi::Boolean::New(env, true);
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        // Full, or never fits? Ask the kernel only when the message is larger than the queue's
        // size was when last seen, to keep this path one system call.
        if (bytes.length > knownMaxBytes_) CheckFitsQueue(env, bytes.length);
        return Napi::Boolean::New(env, false);
      }
      Throw(OsFailure(env, errno, "msgsnd"));
    }
  }

  // tryReceiveInto(type, slab, offset, maxSize, noError, spinMicros?): length | -1. The message lands in
  // `slab` at `offset` (8-byte aligned) as msgrcv lays it out: the type in 8 bytes, then at most
  // maxSize bytes. lib/ hands the bytes out as a slice of the slab: this is the hot path of
  // tryReceive(), so nothing is allocated here.
  Napi::Value TryReceiveInto(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    long type = static_cast<long>(info[0].As<Napi::Number>().Int64Value());
    ByteSpan slab = BytesOf(info[1]);
    size_t offset = static_cast<size_t>(info[2].As<Napi::Number>().Int64Value());
    int64_t maxSizeValue = info[3].As<Napi::Number>().Int64Value();
    CheckReceiveSize(env, maxSizeValue);
    size_t maxSize = static_cast<size_t>(maxSizeValue);
    int flags = IPC_NOWAIT | (info[4].As<Napi::Boolean>().Value() ? MSG_NOERROR : 0);
    if (offset + sizeof(long) + maxSize > slab.length || reinterpret_cast<uintptr_t>(slab.data + offset) % alignof(long) != 0) {
      Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "the receive area is misaligned or too small"));
    }
    ByteSpan target{slab.data + offset, sizeof(long) + maxSize};
    void* raw = const_cast<char*>(target.data);
    // spinMicros: keep trying this long, yielding the CPU in between, before giving up. A reply
    // that comes within microseconds then costs no hand-off to a waiter thread (see lib/).
    double spinMicros = info.Length() > 5 ? info[5].As<Napi::Number>().DoubleValue() : 0;
    std::chrono::steady_clock::time_point deadline;
    if (spinMicros > 0) deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(static_cast<long>(spinMicros));
    for (;;) {
      ssize_t n = msgrcv(id_, raw, target.length - sizeof(long), type, flags);
      if (n >= 0) return Napi::Number::New(env, static_cast<double>(n));
      if (errno == EINTR) continue;
      if (errno != ENOMSG) Throw(OsFailure(env, errno, "msgrcv"));
      if (spinMicros <= 0 || std::chrono::steady_clock::now() >= deadline) return Napi::Number::New(env, -1);
      sched_yield();
    }
  }

 public:
  static Napi::Object Message(Napi::Env env, long type, const char* data, size_t length) {
    Napi::Object message = Napi::Object::New(env);
    message.Set("type", Napi::Number::New(env, static_cast<double>(type)));
    message.Set("data", Napi::Buffer<char>::Copy(env, data, length));
    return message;
  }

 private:
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Receive(const Napi::CallbackInfo& info);

  Napi::Value Stat(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    struct msqid_ds ds;
    if (msgctl(id_, IPC_STAT, &ds) != 0) Throw(OsFailure(env, errno, "msgctl"));
    knownMaxBytes_ = ds.msg_qbytes;
    Napi::Object result = Napi::Object::New(env);
    result.Set("messages", Napi::Number::New(env, static_cast<double>(ds.msg_qnum)));
    result.Set("bytes", Napi::Number::New(env, static_cast<double>(ds.__msg_cbytes)));
    result.Set("maxBytes", Napi::Number::New(env, static_cast<double>(ds.msg_qbytes)));
    result.Set("lastSendPid", Napi::Number::New(env, ds.msg_lspid));
    result.Set("lastReceivePid", Napi::Number::New(env, ds.msg_lrpid));
    result.Set("lastSendTime", Napi::Number::New(env, static_cast<double>(ds.msg_stime)));
    result.Set("lastReceiveTime", Napi::Number::New(env, static_cast<double>(ds.msg_rtime)));
    result.Set("changeTime", Napi::Number::New(env, static_cast<double>(ds.msg_ctime)));
    result.Set("mode", Napi::Number::New(env, ds.msg_perm.mode & 0777));
    result.Set("uid", Napi::Number::New(env, ds.msg_perm.uid));
    result.Set("gid", Napi::Number::New(env, ds.msg_perm.gid));
    result.Set("cuid", Napi::Number::New(env, ds.msg_perm.cuid));
    result.Set("cgid", Napi::Number::New(env, ds.msg_perm.cgid));
    return result;
  }

  // set(mode | -1, maxBytes | -1)
  Napi::Value Set(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    double mode = info[0].As<Napi::Number>().DoubleValue();
    double maxBytes = info[1].As<Napi::Number>().DoubleValue();
    struct msqid_ds ds;
    if (msgctl(id_, IPC_STAT, &ds) != 0) Throw(OsFailure(env, errno, "msgctl"));
    if (mode >= 0) ds.msg_perm.mode = (ds.msg_perm.mode & ~0777) | (static_cast<unsigned>(mode) & 0777);
    if (maxBytes >= 0) ds.msg_qbytes = static_cast<msglen_t>(maxBytes);
    if (msgctl(id_, IPC_SET, &ds) != 0) Throw(OsFailure(env, errno, "msgctl"));
    knownMaxBytes_ = ds.msg_qbytes;
    return env.Undefined();
  }

  Napi::Value Remove(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (msgctl(id_, IPC_RMID, nullptr) != 0) Throw(OsFailure(env, errno, "msgctl"));
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (closed()) return info.Env().Undefined();
    MarkClosed();
    waits_.StopAll(StopReason::kClosed);
    return info.Env().Undefined();
  }

  int id_ = -1;
  double key_ = 0;
  bool created_ = false;
  size_t msgmax_ = 8192;
  size_t knownMaxBytes_ = 0;  // msg_qbytes when last read (0: not yet)
  mutable std::string name_;
  MessageBuffer scratch_;
  PendingWaits waits_;
};

// Pins the queue's JS object while an operation is in flight and unregisters the operation once
// it settles.
class SysVOp : public BlockingOp {
 public:
  SysVOp(Napi::Env env, SysVQueue* queue, Napi::Object self, double opId, Deadline deadline)
      : BlockingOp(env, deadline), queue_(queue), self_(Napi::Persistent(self)), opId_(opId), id_(queue->id()) {}

 protected:
  void Finish() { queue_->Forget(opId_); }
  SysVQueue* queue_;
  Napi::ObjectReference self_;
  double opId_;
  int id_;
  int error_ = 0;
};

class SysVSendOp final : public SysVOp {
 public:
  SysVSendOp(Napi::Env env, SysVQueue* queue, Napi::Object self, double opId, Deadline deadline, long type, ByteSpan bytes)
      : SysVOp(env, queue, self, opId, deadline), length_(bytes.length) {
    // Copied now: the caller may reuse or drop its buffer as soon as send() returns.
    message_.Reserve(bytes.length);
    message_.type() = type;
    if (bytes.length) std::memcpy(message_.text(), bytes.data, bytes.length);
  }

  void Execute() override {
    for (;;) {
      if (StopRequested()) return;
      if (msgsnd(id_, message_.raw(), length_, 0) == 0) {
        sent_ = true;
        return;
      }
      if (errno != EINTR) {
        error_ = errno;
        return;
      }
    }
  }

  void Settle(Napi::Env env) override {
    Finish();
    // Not sent and no error: it was stopped, while waiting or before it ever started.
    if (sent_) {
      deferred_.Resolve(env.Undefined());
    } else if (error_ != 0) {
      deferred_.Reject(queue_->OsFailure(env, error_, "msgsnd").Value());
    } else {
      deferred_.Reject(StopError(env, stopReason(), "send", "System V message queue").Value());
    }
  }

 private:
  MessageBuffer message_;
  size_t length_;
  bool sent_ = false;
};

class SysVReceiveOp final : public SysVOp {
 public:
  SysVReceiveOp(Napi::Env env, SysVQueue* queue, Napi::Object self, double opId, Deadline deadline, long type, size_t maxSize, bool noError)
      : SysVOp(env, queue, self, opId, deadline), type_(type), maxSize_(maxSize), flags_(noError ? MSG_NOERROR : 0) {
    message_.Reserve(maxSize);
  }

  void Execute() override {
    for (;;) {
      if (StopRequested()) return;
      ssize_t n = msgrcv(id_, message_.raw(), maxSize_, type_, flags_);
      if (n >= 0) {
        received_ = static_cast<size_t>(n);
        got_ = true;
        return;
      }
      if (errno != EINTR) {
        error_ = errno;
        return;
      }
    }
  }

  void Settle(Napi::Env env) override {
    Finish();
    if (got_) {
      // A message that arrived as the stop was requested is delivered, never dropped.
      deferred_.Resolve(SysVQueue::Message(env, message_.type(), message_.text(), received_));
    } else if (error_ == 0) {
      // Stopped, while waiting or before it ever started.
      deferred_.Reject(StopError(env, stopReason(), "receive", "System V message queue").Value());
    } else {
      deferred_.Reject(queue_->OsFailure(env, error_, "msgrcv").Value());
    }
  }

 private:
  MessageBuffer message_;
  long type_;
  size_t maxSize_;
  int flags_;
  size_t received_ = 0;
  bool got_ = false;
};

// send(opId, timeoutMs | -1, type, data): Promise<void>, waiting for room on a waiter thread.
// msgsnd takes no deadline: the pool's watchdog cancels it when the time is up.
Napi::Value SysVQueue::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  double opId = info[0].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
  long type = static_cast<long>(info[2].As<Napi::Number>().Int64Value());
  ByteSpan bytes = BytesOf(info[3]);
  CheckSendSize(env, bytes.length);
  CheckFitsQueue(env, bytes.length);
  auto op = std::make_unique<SysVSendOp>(env, this, info.This().As<Napi::Object>(), opId, deadline, type, bytes);
  Napi::Promise promise = op->Promise();
  waits_.Start(opId, std::move(op));
  return promise;
}

// receive(opId, timeoutMs | -1, type, maxSize, noError): Promise<{ type, data }>, waiting on a
// waiter thread. msgrcv takes no deadline either.
Napi::Value SysVQueue::Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  double opId = info[0].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
  long type = static_cast<long>(info[2].As<Napi::Number>().Int64Value());
  int64_t maxSizeValue = info[3].As<Napi::Number>().Int64Value();
  CheckReceiveSize(env, maxSizeValue);
  size_t maxSize = static_cast<size_t>(maxSizeValue);
  bool noError = info[4].As<Napi::Boolean>().Value();
  auto op = std::make_unique<SysVReceiveOp>(env, this, info.This().As<Napi::Object>(), opId, deadline, type, maxSize, noError);
  Napi::Promise promise = op->Promise();
  waits_.Start(opId, std::move(op));
  return promise;
}

// openSysVQueue(key, flags, mode): SysVQueue
Napi::Value OpenSysVQueue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double keyValue = info[0].As<Napi::Number>().DoubleValue();
  uint32_t flags = info[1].As<Napi::Number>().Uint32Value();
  int mode = static_cast<int>(info[2].As<Napi::Number>().Uint32Value() & 0777);
  key_t key = (flags & kPrivate) ? IPC_PRIVATE : static_cast<key_t>(static_cast<int64_t>(keyValue));
  std::string name = (flags & kPrivate) ? "IPC_PRIVATE" : KeyName(keyValue);
  // Opening asks for read and write permission (msgget checks the permission bits it is given),
  // so a handle that could never send or receive fails here with EACCES, not later.
  constexpr int kReadWrite = 0600;
  bool created = false;
  int id = -1;
  if (flags & kCreate) {
    id = msgget(key, IPC_CREAT | IPC_EXCL | mode);
    if (id >= 0) {
      created = true;
    } else if (errno == EEXIST && !(flags & kExclusive)) {
      id = msgget(key, kReadWrite);
    }
  } else {
    id = msgget(key, kReadWrite);
  }
  if (id < 0) {
    int code = errno;
    OsError error{code, "msgget", name};
    if (code == ENOSPC) {
      long msgmni = ReadProcLong(limit::kMsgmni, 0);
      error.limit = Limit{limit::kMsgmni, static_cast<double>(msgmni),
          "the system's limit of queues, " + std::string(limit::kMsgmni) + " = " + std::to_string(msgmni) + ", is reached"};
    }
    Throw(SystemError(env, error));
  }
  SysVQueue::Pending pending{id, keyValue, created};
  return Addon::Of(env).NewInstance<SysVQueue>({Napi::External<SysVQueue::Pending>::New(env, &pending)});
}

// ftok(path, projId): number
Napi::Value Ftok(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  // c_str() would end at a NUL byte, and the key be another file's.
  if (path.find('\0') != std::string::npos) {
    Throw(LibraryError(env, ErrorKind::kTypeError, "ERR_INVALID_ARG_VALUE", "The argument 'path' must not contain null bytes"));
  }
  int projId = static_cast<int>(info[1].As<Napi::Number>().Int32Value());
  key_t key = ftok(path.c_str(), projId);
  if (key == -1) Throw(SystemError(env, LastOsError("ftok", path)));
  return Napi::Number::New(env, key);
}

}  // namespace

void InitSysVMessageQueue(Napi::Env env, Napi::Object exports) {
  Napi::Function queueClass = SysVQueue::DefineClass(env);
  Addon::Of(env).RegisterClass<SysVQueue>(queueClass);
  exports.Set("SysVQueue", queueClass);
  exports.Set("openSysVQueue", Napi::Function::New<OpenSysVQueue>(env, "openSysVQueue"));
  exports.Set("ftok", Napi::Function::New<Ftok>(env, "ftok"));
}

}  // namespace ipckit::posix

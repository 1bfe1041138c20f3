// System V semaphore sets: semget, semop, semtimedop, semctl. An operation is first tried with
// IPC_NOWAIT on the JavaScript thread; only one that would block goes to a waiter thread.
#include "posix/sysv_sem.h"

#include <errno.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <time.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/addon.h"
#include "common/errors.h"
#include "common/waiter.h"
#include "posix/sysv_common.h"

namespace ipckit::posix {

namespace {

// glibc leaves `union semun` to the caller (semctl(2)).
union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

// Bits of an operation's flags as lib/sysv-semaphore-set.ts encodes them.
constexpr int32_t kOpUndo = 1;
constexpr int32_t kOpNoWait = 2;

struct SemLimits {
  long semmsl = 32000;  // semaphores per set
  long semmns = 1024000000;
  long semopm = 500;  // operations per semop call
  long semmni = 32000;
};

SemLimits ReadSemLimits() {
  SemLimits limits;
  long values[4];
  if (ReadProcLongs("/proc/sys/kernel/sem", values, 4)) {
    limits.semmsl = values[0];
    limits.semmns = values[1];
    limits.semopm = values[2];
    limits.semmni = values[3];
  }
  return limits;
}

// The operations, as lib/ passes them: an Int32Array of (index, delta, flags) triples.
// `forceNoWait` adds IPC_NOWAIT to every one (the non-waiting try); returns whether any asked
// for IPC_NOWAIT itself.
bool DecodeOps(const Napi::Value& value, std::vector<struct sembuf>& out, bool forceNoWait) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_status status = napi_get_typedarray_info(value.Env(), value, &type, &length, &data, nullptr, nullptr);
  if (status != napi_ok || type != napi_int32_array || length == 0 || length % 3 != 0) {
    throw Napi::TypeError::New(value.Env(), "expected an Int32Array of (index, delta, flags) triples");
  }
  const int32_t* triples = static_cast<const int32_t*>(data);
  size_t count = length / 3;
  out.resize(count);
  bool anyNoWait = false;
  for (size_t i = 0; i < count; i++) {
    int32_t flags = triples[3 * i + 2];
    anyNoWait = anyNoWait || (flags & kOpNoWait) != 0;
    out[i].sem_num = static_cast<unsigned short>(triples[3 * i]);
    out[i].sem_op = static_cast<short>(triples[3 * i + 1]);
    out[i].sem_flg = static_cast<short>(((flags & kOpUndo) ? SEM_UNDO : 0) |
                                        ((forceNoWait || (flags & kOpNoWait)) ? IPC_NOWAIT : 0));
  }
  return anyNoWait;
}

int64_t MonotonicMs() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

class SysVSemSet : public WaitingWrap<SysVSemSet>, public Closeable {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b69745356ULL, 0x73656d6170686f72ULL};
  static constexpr const char* kKindName = "System V semaphore set";

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<SysVSemSet>::DefineClass(env, "SysVSemaphoreSet", WithWaitMethods({
            InstanceAccessor<&SysVSemSet::Id>("id"),
            InstanceAccessor<&SysVSemSet::Created>("created"),
            InstanceAccessor<&SysVSemSet::Count>("count"),
            InstanceAccessor<&SysVSemSet::OpsMax>("semopm"),
            InstanceMethod<&SysVSemSet::TryOp>("tryOp"),
            InstanceMethod<&SysVSemSet::Op>("op"),
            InstanceMethod<&SysVSemSet::OpSync>("opSync"),
            InstanceMethod<&SysVSemSet::Get>("get"),
            InstanceMethod<&SysVSemSet::SetValue>("set"),
            InstanceMethod<&SysVSemSet::GetAll>("getAll"),
            InstanceMethod<&SysVSemSet::SetAll>("setAll"),
            InstanceMethod<&SysVSemSet::Stat>("stat"),
            InstanceMethod<&SysVSemSet::Remove>("remove"),
            InstanceMethod<&SysVSemSet::Close>("close"),
        }));
  }

  struct Pending {
    int id;
    double key;
    bool created;
    int count;
  };

  explicit SysVSemSet(const Napi::CallbackInfo& info) : WaitingWrap<SysVSemSet>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsExternal()) {
      Throw(LibraryError(env, ErrorKind::kTypeError, "ERR_ILLEGAL_CONSTRUCTOR", "semaphore sets are created by the open functions"));
    }
    Pending* pending = info[0].As<Napi::External<Pending>>().Data();
    id_ = pending->id;
    key_ = pending->key;
    created_ = pending->created;
    count_ = pending->count;
    semopm_ = static_cast<int>(ReadSemLimits().semopm);
    info.This().As<Napi::Object>().TypeTag(&kTypeTag);
    Addon& addon = Addon::Of(env);
    registry_ = addon.registry;
    waits_.Bind(addon.waiters);
    registry_->Add(this);
  }

  ~SysVSemSet() override { registry_->Remove(this); }

  void ReleaseForTeardown() override {
    // A set id is no descriptor: nothing to release. The waiter pool's own teardown stops and
    // frees the operations.
    waits_.Clear();
    closed_ = true;
  }

  int id() const { return id_; }
  void Forget(double opId) { waits_.Finish(opId); }

  Napi::Error OsFailure(Napi::Env env, int code, const char* syscall) const {
    if (name_.empty()) name_ = KeyName(key_);
    return SystemError(env, OsError{code, syscall, name_});
  }

 private:
  void CheckOpen(Napi::Env env) const {
    if (closed_) Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_CLOSED", "The System V semaphore set is closed"));
  }

  Napi::Value Id(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), id_); }
  Napi::Value Created(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), created_); }
  Napi::Value Count(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), count_); }
  Napi::Value OpsMax(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), semopm_); }

  // One semop with IPC_NOWAIT on every operation: true if applied, false if it would block.
  // With `againIsError` (an operation asked for noWait itself), "would block" is EAGAIN.
  bool TryNow(Napi::Env env, const Napi::Value& ops, bool* anyNoWait) {
    bool noWait = DecodeOps(ops, scratch_, true);
    if (anyNoWait != nullptr) *anyNoWait = noWait;
    for (;;) {
      if (semop(id_, scratch_.data(), scratch_.size()) == 0) return true;
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return false;
      Throw(OsFailure(env, errno, "semop"));
    }
  }

  // tryOp(ops, againIsError): boolean
  Napi::Value TryOp(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (TryNow(env, info[0], nullptr)) return Napi::Boolean::New(env, true);
    if (info[1].As<Napi::Boolean>().Value()) Throw(OsFailure(env, EAGAIN, "semop"));
    return Napi::Boolean::New(env, false);
  }

  Napi::Value Op(const Napi::CallbackInfo& info);

  // opSync(ops, timeoutMs | -1): waits on the calling thread (scripts, worker threads).
  Napi::Value OpSync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    double timeout = info[1].As<Napi::Number>().DoubleValue();
    bool anyNoWait = false;
    if (TryNow(env, info[0], &anyNoWait)) return env.Undefined();
    // semtimedop also says EAGAIN when its time is up: asking noWait is settled by the try alone.
    if (anyNoWait) Throw(OsFailure(env, EAGAIN, "semop"));
    if (timeout == 0) Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_TIMEOUT", "The operation timed out"));
    DecodeOps(info[0], scratch_, false);
    int64_t deadline = timeout < 0 ? 0 : MonotonicMs() + static_cast<int64_t>(timeout);
    for (;;) {
      struct timespec wait;
      struct timespec* limit = nullptr;
      if (timeout >= 0) {
        int64_t left = deadline - MonotonicMs();
        if (left <= 0) break;
        wait.tv_sec = static_cast<time_t>(left / 1000);
        wait.tv_nsec = static_cast<long>((left % 1000) * 1000000);
        limit = &wait;
      }
      if (semtimedop(id_, scratch_.data(), scratch_.size(), limit) == 0) return env.Undefined();
      // Signals interrupt the wait (semop is never restarted): go on with the time left.
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      Throw(OsFailure(env, errno, "semtimedop"));
    }
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_TIMEOUT", "The operation timed out"));
  }




  // get(index): GETVAL
  Napi::Value Get(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    int index = info[0].As<Napi::Number>().Int32Value();
    int value = semctl(id_, index, GETVAL);
    if (value < 0) Throw(OsFailure(env, errno, "semctl"));
    return Napi::Number::New(env, value);
  }

  // set(index, value): SETVAL (clears every process's undo adjustment for that semaphore)
  Napi::Value SetValue(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    int index = info[0].As<Napi::Number>().Int32Value();
    union semun arg;
    arg.val = info[1].As<Napi::Number>().Int32Value();
    if (semctl(id_, index, SETVAL, arg) != 0) Throw(OsFailure(env, errno, "semctl"));
    return env.Undefined();
  }

  // getAll(): number[] (GETALL)
  Napi::Value GetAll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    std::vector<unsigned short> values(static_cast<size_t>(count_));
    union semun arg;
    arg.array = values.data();
    if (semctl(id_, 0, GETALL, arg) != 0) Throw(OsFailure(env, errno, "semctl"));
    Napi::Array result = Napi::Array::New(env, values.size());
    for (size_t i = 0; i < values.size(); i++) result.Set(static_cast<uint32_t>(i), Napi::Number::New(env, values[i]));
    return result;
  }

  // setAll(values: Uint16Array of length count): SETALL
  Napi::Value SetAll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_status status = napi_get_typedarray_info(env, info[0], &type, &length, &data, nullptr, nullptr);
    if (status != napi_ok || type != napi_uint16_array || length != static_cast<size_t>(count_)) {
      throw Napi::TypeError::New(env, "expected a Uint16Array with one value per semaphore");
    }
    // SETALL reads the array; copy so the kernel never sees a buffer JavaScript could move.
    std::vector<unsigned short> values(static_cast<const uint16_t*>(data), static_cast<const uint16_t*>(data) + length);
    union semun arg;
    arg.array = values.data();
    if (semctl(id_, 0, SETALL, arg) != 0) Throw(OsFailure(env, errno, "semctl"));
    return env.Undefined();
  }

  // stat(): IPC_STAT, then GETNCNT / GETZCNT / GETPID for each semaphore.
  Napi::Value Stat(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    struct semid_ds ds;
    union semun arg;
    arg.buf = &ds;
    if (semctl(id_, 0, IPC_STAT, arg) != 0) Throw(OsFailure(env, errno, "semctl"));
    Napi::Object result = Napi::Object::New(env);
    result.Set("count", Napi::Number::New(env, static_cast<double>(ds.sem_nsems)));
    result.Set("mode", Napi::Number::New(env, ds.sem_perm.mode & 0777));
    result.Set("uid", Napi::Number::New(env, ds.sem_perm.uid));
    result.Set("gid", Napi::Number::New(env, ds.sem_perm.gid));
    result.Set("cuid", Napi::Number::New(env, ds.sem_perm.cuid));
    result.Set("cgid", Napi::Number::New(env, ds.sem_perm.cgid));
    result.Set("lastOpTime", Napi::Number::New(env, static_cast<double>(ds.sem_otime)));
    result.Set("changeTime", Napi::Number::New(env, static_cast<double>(ds.sem_ctime)));
    Napi::Array waiters = Napi::Array::New(env, ds.sem_nsems);
    for (unsigned long i = 0; i < ds.sem_nsems; i++) {
      int index = static_cast<int>(i);
      int increase = semctl(id_, index, GETNCNT);
      int zero = increase < 0 ? -1 : semctl(id_, index, GETZCNT);
      int pid = zero < 0 ? -1 : semctl(id_, index, GETPID);
      if (pid < 0) Throw(OsFailure(env, errno, "semctl"));
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("index", Napi::Number::New(env, index));
      entry.Set("forIncrease", Napi::Number::New(env, increase));
      entry.Set("forZero", Napi::Number::New(env, zero));
      entry.Set("lastPid", Napi::Number::New(env, pid));
      waiters.Set(static_cast<uint32_t>(i), entry);
    }
    result.Set("waiters", waiters);
    return result;
  }

  Napi::Value Remove(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (semctl(id_, 0, IPC_RMID) != 0) Throw(OsFailure(env, errno, "semctl"));
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (closed_) return info.Env().Undefined();
    closed_ = true;
    waits_.StopAll();
    return info.Env().Undefined();
  }

  int id_ = -1;
  double key_ = 0;
  bool created_ = false;
  int count_ = 0;
  int semopm_ = 500;
  bool closed_ = false;
  mutable std::string name_;
  std::vector<struct sembuf> scratch_;  // JS thread only
  std::shared_ptr<HandleRegistry> registry_;
};

// One waiting semop. Pins the set's JS object while in flight and unregisters itself on settle.
class SemWaitOp final : public BlockingOp {
 public:
  SemWaitOp(Napi::Env env, SysVSemSet* set, Napi::Object self, double opId, std::vector<struct sembuf> ops)
      : BlockingOp(env), set_(set), self_(Napi::Persistent(self)), opId_(opId), id_(set->id()), ops_(std::move(ops)) {}

  void Execute() override {
    for (;;) {
      if (StopRequested()) return;
      if (semop(id_, ops_.data(), ops_.size()) == 0) {
        done_ = true;
        return;
      }
      if (errno != EINTR) {
        error_ = errno;
        return;
      }
    }
  }

  void Settle(Napi::Env env) override {
    set_->Forget(opId_);
    if (done_) {
      // Applied as the stop was requested: the caller now holds what it asked for, so it must
      // hear that it succeeded.
      deferred_.Resolve(env.Undefined());
    } else if (error_ != 0) {
      deferred_.Reject(set_->OsFailure(env, error_, "semop").Value());
    } else {
      deferred_.Reject(StopError(env, StopCode(), "operation", "System V semaphore set").Value());
    }
  }

 private:
  SysVSemSet* set_;
  Napi::ObjectReference self_;
  double opId_;
  int id_;
  std::vector<struct sembuf> ops_;
  bool done_ = false;
  int error_ = 0;
};

// op(opId, ops): Promise<void>, waiting on a waiter thread. lib/ has already tried it without
// waiting, and never passes an operation that asked for noWait.
Napi::Value SysVSemSet::Op(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  double opId = info[0].As<Napi::Number>().DoubleValue();
  std::vector<struct sembuf> ops;
  DecodeOps(info[1], ops, false);
  auto op = std::make_unique<SemWaitOp>(env, this, info.This().As<Napi::Object>(), opId, std::move(ops));
  Napi::Promise promise = op->Promise();
  waits_.Start(opId, std::move(op));
  return promise;
}

// openSysVSemaphoreSet(key, flags, mode, count): SysVSemaphoreSet
Napi::Value OpenSysVSemaphoreSet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double keyValue = info[0].As<Napi::Number>().DoubleValue();
  uint32_t flags = info[1].As<Napi::Number>().Uint32Value();
  int mode = static_cast<int>(info[2].As<Napi::Number>().Uint32Value() & 0777);
  int count = info[3].As<Napi::Number>().Int32Value();
  key_t key = (flags & kSysVPrivate) ? IPC_PRIVATE : static_cast<key_t>(static_cast<int64_t>(keyValue));
  std::string name = (flags & kSysVPrivate) ? "IPC_PRIVATE" : KeyName(keyValue);
  // Opening asks for read and write permission (semget checks the bits it is given), so a handle
  // that could never operate on the set fails here with EACCES, not at its first op.
  constexpr int kReadWrite = 0600;
  bool created = false;
  int id = -1;
  if (flags & kSysVCreate) {
    id = semget(key, count, IPC_CREAT | IPC_EXCL | mode);
    if (id >= 0) {
      created = true;
    } else if (errno == EEXIST && !(flags & kSysVExclusive)) {
      // With `count`, an existing set with fewer semaphores is EINVAL rather than a surprise later.
      id = semget(key, count, kReadWrite);
    }
  } else {
    id = semget(key, 0, kReadWrite);
  }
  if (id < 0) {
    int code = errno;
    if (code == ENOSPC) {
      SemLimits limits = ReadSemLimits();
      Throw(SystemError(env, OsError{code, "semget", name + " (a system limit is reached: /proc/sys/kernel/sem allows " +
                                                         std::to_string(limits.semmni) + " sets and " +
                                                         std::to_string(limits.semmns) + " semaphores)"}));
    }
    Throw(SystemError(env, OsError{code, "semget", name}));
  }
  if (!created) {
    // The size of a set we did not create is the kernel's to tell.
    struct semid_ds ds;
    union semun arg;
    arg.buf = &ds;
    if (semctl(id, 0, IPC_STAT, arg) != 0) Throw(SystemError(env, LastOsError("semctl", name)));
    count = static_cast<int>(ds.sem_nsems);
  }
  SysVSemSet::Pending pending{id, keyValue, created, count};
  return Addon::Of(env).sysvSemaphoreSetClass.New({Napi::External<SysVSemSet::Pending>::New(env, &pending)});
}

// sysvSemLimits(): { semmsl, semmns, semopm, semmni } from /proc/sys/kernel/sem
Napi::Value SysVSemLimits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SemLimits limits = ReadSemLimits();
  Napi::Object result = Napi::Object::New(env);
  result.Set("semmsl", Napi::Number::New(env, static_cast<double>(limits.semmsl)));
  result.Set("semmns", Napi::Number::New(env, static_cast<double>(limits.semmns)));
  result.Set("semopm", Napi::Number::New(env, static_cast<double>(limits.semopm)));
  result.Set("semmni", Napi::Number::New(env, static_cast<double>(limits.semmni)));
  return result;
}

}  // namespace

void InitSysVSemaphoreSet(Napi::Env env, Napi::Object exports) {
  Napi::Function setClass = SysVSemSet::DefineClass(env);
  Addon::Of(env).sysvSemaphoreSetClass = Napi::Persistent(setClass);
  exports.Set("SysVSemaphoreSet", setClass);
  exports.Set("openSysVSemaphoreSet", Napi::Function::New<OpenSysVSemaphoreSet>(env, "openSysVSemaphoreSet"));
  exports.Set("sysvSemLimits", Napi::Function::New<SysVSemLimits>(env, "sysvSemLimits"));
}

}  // namespace ipckit::posix

// System V semaphore sets: semget, semop, semtimedop, semctl. An operation is first tried with
// IPC_NOWAIT on the JavaScript thread; only one that would block goes to a waiter thread.
#include "linux/sysv_sem.h"

#include <errno.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/addon.h"
#include "common/errors.h"
#include "common/handle.h"
#include "common/waiter.h"
#include "linux/sysv_common.h"

namespace ipckit::posix {

namespace {

// glibc leaves `union semun` to the caller (semctl(2)).
union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
  struct seminfo* info;  // IPC_INFO, SEM_INFO
};

// Bits of an operation's flags as lib/sysv-semaphore-set.ts encodes them (binding.constants.semOpFlags).
constexpr int32_t kOpUndo = kSemOpUndo;
constexpr int32_t kOpNoWait = kSemOpNoWait;

// SEMVMX, the largest value a semaphore holds: <linux/sem.h>'s, which cannot be included with
// <sys/sem.h>; Linux has never changed it.
constexpr int kSemValueMax = 32767;

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
    Throw(LibraryError(
        value.Env(), ErrorKind::kTypeError, "ERR_INVALID_ARG_TYPE", "expected an Int32Array of (index, delta, flags) triples"));
  }
  const int32_t* triples = static_cast<const int32_t*>(data);
  size_t count = length / 3;
  out.resize(count);
  bool anyNoWait = false;
  for (size_t i = 0; i < count; i++) {
    int32_t flags = triples[3 * i + 2];
    // lib/ bounds these by the set's count and by short; here only so that a cast can never
    // turn one index or delta into another. The kernel bounds the index by the set's size at
    // the call (EFBIG).
    if (triples[3 * i] < 0 || triples[3 * i] > USHRT_MAX || triples[3 * i + 1] < SHRT_MIN || triples[3 * i + 1] > SHRT_MAX) {
      Throw(LibraryError(value.Env(), ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "a semaphore index or delta is out of range"));
    }
    anyNoWait = anyNoWait || (flags & kOpNoWait) != 0;
    out[i].sem_num = static_cast<unsigned short>(triples[3 * i]);
    out[i].sem_op = static_cast<short>(triples[3 * i + 1]);
    out[i].sem_flg = static_cast<short>(((flags & kOpUndo) ? SEM_UNDO : 0) | ((forceNoWait || (flags & kOpNoWait)) ? IPC_NOWAIT : 0));
  }
  return anyNoWait;
}

// Room for `count` semaphore values that ends right at an inaccessible page. GETALL and SETALL
// copy as many values as the set at the id holds when the kernel runs them, which is not
// necessarily what IPC_STAT said a moment before: if the id was reused in between for a larger
// set, the kernel's copy runs into the guard page and the call fails with EFAULT, where a heap
// buffer would have been written (or read) past its end. No size, however generous, would be
// safe instead: SEMMSL can be raised at any time, and sets made before keep their size.
class GuardedValues {
 public:
  explicit GuardedValues(size_t count) {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t bytes = count * sizeof(unsigned short);
    size_t dataPages = (bytes + page - 1) / page;
    length_ = (dataPages + 1) * page;
    void* base = mmap(nullptr, length_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return;
    base_ = static_cast<char*>(base);
    if (mprotect(base_ + dataPages * page, page, PROT_NONE) != 0) return;
    data_ = reinterpret_cast<unsigned short*>(base_ + dataPages * page - bytes);
  }
  ~GuardedValues() {
    if (base_ != nullptr) munmap(base_, length_);
  }
  GuardedValues(const GuardedValues&) = delete;
  GuardedValues& operator=(const GuardedValues&) = delete;

  // Null if the mapping failed (errno says why).
  unsigned short* data() const { return data_; }

 private:
  char* base_ = nullptr;
  size_t length_ = 0;
  unsigned short* data_ = nullptr;
};

int64_t MonotonicMs() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

class SysVSemSet : public WaitingHandle<SysVSemSet> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b69745356ULL, 0x73656d6170686f72ULL};
  static constexpr const char* kKindName = "System V semaphore set";

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<SysVSemSet>::DefineClass(env, "SysVSemaphoreSet",
        WithWaitMethods({
            Getter<&SysVSemSet::Id>("id"),
            Getter<&SysVSemSet::Name>("name"),
            Getter<&SysVSemSet::Created>("created"),
            Getter<&SysVSemSet::Count>("count"),
            Getter<&SysVSemSet::OpsMax>("semopm"),
            Method<&SysVSemSet::TryOp>("tryOp"),
            Method<&SysVSemSet::Op>("op"),
            Method<&SysVSemSet::OpSync>("opSync"),
            Method<&SysVSemSet::Get>("get"),
            Method<&SysVSemSet::SetValue>("set"),
            Method<&SysVSemSet::GetAll>("getAll"),
            Method<&SysVSemSet::SetAll>("setAll"),
            Method<&SysVSemSet::Stat>("stat"),
            Method<&SysVSemSet::Remove>("remove"),
            Method<&SysVSemSet::Close>("close"),
        }));
  }

  // What identifies the set behind the id (see SameSet); read with IPC_STAT at open.
  struct Pending {
    int id;
    double key;
    bool created;
    int count;
    uid_t cuid;
    gid_t cgid;
  };

  explicit SysVSemSet(const Napi::CallbackInfo& info) : WaitingHandle<SysVSemSet>(info) {
    Pending* pending = PendingArg<Pending>(info);
    id_ = pending->id;
    key_ = pending->key;
    created_ = pending->created;
    count_ = pending->count;
    cuid_ = pending->cuid;
    cgid_ = pending->cgid;
    semopm_ = static_cast<int>(ReadSemLimits().semopm);
    waits_.Bind(Addon::Of(info.Env()).waiters);
  }

  void ReleaseForTeardown() override {
    // A set id is no descriptor: nothing to release. The waiter pool's own teardown stops and
    // frees the operations.
    waits_.Clear();
    MarkClosed();
  }

  int id() const { return id_; }
  void Forget(double opId) { waits_.Finish(opId); }

  Napi::Error OsFailure(Napi::Env env, int code, const char* syscall) const {
    OsError error{code, syscall, name()};
    // lib/ passes at most semopm_ operations; the kernel's figure may have been lowered since.
    if (code == E2BIG && std::strcmp(syscall, "semop") == 0) {
      long semopm = ReadSemLimits().semopm;
      error.limit = Limit{limit::kSemopm, static_cast<double>(semopm),
          "more operations in one call than " + std::string(limit::kSemopm) + " = " + std::to_string(semopm) +
              ", the third field of /proc/sys/kernel/sem"};
    }
    return SystemError(env, error);
  }

  std::string name() const override {
    if (name_.empty()) name_ = KeyName(key_);
    return name_;
  }

 protected:
  WaitSet& waits() override { return waits_; }

 private:
  // Whether the set the kernel now has at id_ is the one this handle opened. A removed set's id
  // is handed out again once the ids wrap (index + seq * 32768, seq wrapping at 65535: a few
  // million semget calls, seconds of work), and through a stale handle every call would then act
  // on a stranger's set. The kernel keeps no generation number beyond that seq, so this compares
  // what a set cannot change in its lifetime: its key, its size and its creator. A same-size set
  // with the same key and creator under a reused id (a private set of 2 replaced by another, say)
  // cannot be told apart, and calls then act on it; but every buffer is sized from the kernel's
  // figures at the call, so even then nothing reads or writes past this process's memory.
  bool SameSet(const struct semid_ds& ds) const {
    return ds.sem_nsems == static_cast<unsigned long>(count_) && ds.sem_perm.__key == static_cast<key_t>(static_cast<int64_t>(key_)) &&
           ds.sem_perm.cuid == cuid_ && ds.sem_perm.cgid == cgid_;
  }

  // The handle's set is gone and its id names another: EIDRM, the code an operation waiting on a
  // removed set ends with, since that is what happened to this handle's set.
  Napi::Error Reused(Napi::Env env, const struct semid_ds& ds) const {
    if (name_.empty()) name_ = KeyName(key_);
    return SystemError(env, OsError{EIDRM, "semctl",
                                name_ + " (its set was removed; id " + std::to_string(id_) + " now names another set, of " +
                                    std::to_string(ds.sem_nsems) + " semaphores)"});
  }

  // IPC_STAT into `ds`, throwing EIDRM (Reused) if the id now names another set. False, with
  // errno set, if the kernel would not tell (the set is gone, or permissions changed).
  bool StatSame(Napi::Env env, struct semid_ds& ds) const {
    union semun arg;
    arg.buf = &ds;
    if (semctl(id_, 0, IPC_STAT, arg) != 0) return false;
    if (!SameSet(ds)) Throw(Reused(env, ds));
    return true;
  }

  // Before a call that acts on the set: refuses a stranger's set. If IPC_STAT itself fails, the
  // call goes ahead and reports the kernel's own error (EINVAL for a removed set, from semop
  // for an operation), which says more than the check would.
  void CheckSameSet(Napi::Env env) const {
    struct semid_ds ds;
    StatSame(env, ds);
  }

  void StatOrThrow(Napi::Env env, struct semid_ds& ds) const {
    if (!StatSame(env, ds)) Throw(OsFailure(env, errno, "semctl"));
  }

  Napi::Value Id(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), id_); }
  Napi::Value Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name()); }
  Napi::Value Created(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), created_); }
  Napi::Value Count(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), count_); }
  Napi::Value OpsMax(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), semopm_); }

  // One semop with IPC_NOWAIT on every operation: true if applied, false if it would block.
  // With `againIsError` (an operation asked for noWait itself), "would block" is EAGAIN.
  bool TryNow(Napi::Env env, const Napi::Value& ops, bool* anyNoWait) {
    bool noWait = DecodeOps(ops, scratch_, true);
    if (anyNoWait != nullptr) *anyNoWait = noWait;
    CheckSameSet(env);
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

  // get(index): GETVAL. The kernel bounds `index` by the set's size at the call (EINVAL).
  Napi::Value Get(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    int index = info[0].As<Napi::Number>().Int32Value();
    CheckSameSet(env);
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
    CheckSameSet(env);
    if (semctl(id_, index, SETVAL, arg) != 0) Throw(OsFailure(env, errno, "semctl"));
    return env.Undefined();
  }

  // A GETALL or SETALL that failed. EFAULT means the kernel's copy ran into the guard page:
  // the id was reused for a larger set since the IPC_STAT before, which the check now reports.
  [[noreturn]] void ThrowArrayFailure(Napi::Env env, int code) const {
    if (code == EFAULT) {
      struct semid_ds ds;
      StatOrThrow(env, ds);
    }
    Throw(OsFailure(env, code, "semctl"));
  }

  // getAll(): number[] (GETALL), sized from IPC_STAT at the call, never from count_.
  Napi::Value GetAll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    struct semid_ds ds;
    StatOrThrow(env, ds);
    size_t count = static_cast<size_t>(ds.sem_nsems);
    GuardedValues values(count);
    if (values.data() == nullptr) Throw(OsFailure(env, errno, "mmap"));
    union semun arg;
    arg.array = values.data();
    if (semctl(id_, 0, GETALL, arg) != 0) ThrowArrayFailure(env, errno);
    // A smaller or same-size set may have taken the id between the two calls without a fault:
    // make sure the values read are this set's.
    StatOrThrow(env, ds);
    Napi::Array result = Napi::Array::New(env, count);
    for (size_t i = 0; i < count; i++) result.Set(static_cast<uint32_t>(i), Napi::Number::New(env, values.data()[i]));
    return result;
  }

  // setAll(values: Uint16Array of length count): SETALL. The kernel reads as many values as the
  // set holds at the call, so the length is checked against IPC_STAT's figure, and the copy ends
  // at a guard page in case the id is reused in between.
  Napi::Value SetAll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_status status = napi_get_typedarray_info(env, info[0], &type, &length, &data, nullptr, nullptr);
    if (status != napi_ok || type != napi_uint16_array) {
      Throw(LibraryError(env, ErrorKind::kTypeError, "ERR_INVALID_ARG_TYPE", "expected a Uint16Array with one value per semaphore"));
    }
    struct semid_ds ds;
    StatOrThrow(env, ds);
    if (length != static_cast<size_t>(ds.sem_nsems)) {
      Throw(LibraryError(env, ErrorKind::kTypeError, "ERR_INVALID_ARG_VALUE",
          std::to_string(length) + " values for a set of " + std::to_string(ds.sem_nsems) +
              " semaphores; setAll takes one value per semaphore"));
    }
    // Copied, also so the kernel never sees a buffer JavaScript could move.
    GuardedValues values(length);
    if (values.data() == nullptr) Throw(OsFailure(env, errno, "mmap"));
    if (length != 0) std::memcpy(values.data(), data, length * sizeof(unsigned short));
    union semun arg;
    arg.array = values.data();
    if (semctl(id_, 0, SETALL, arg) != 0) ThrowArrayFailure(env, errno);
    return env.Undefined();
  }

  // stat(): IPC_STAT, then GETNCNT / GETZCNT / GETPID for each semaphore.
  Napi::Value Stat(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    struct semid_ds ds;
    StatOrThrow(env, ds);
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
    // Above all, never remove a stranger's set.
    CheckSameSet(env);
    if (semctl(id_, 0, IPC_RMID) != 0) Throw(OsFailure(env, errno, "semctl"));
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
  int count_ = 0;  // the size at open: what the set is, not a bound any buffer may rely on
  uid_t cuid_ = 0;
  gid_t cgid_ = 0;
  int semopm_ = 500;
  mutable std::string name_;
  std::vector<struct sembuf> scratch_;  // JS thread only
  PendingWaits waits_;
};

// One waiting semop, through semtimedop with what is left of its deadline. Pins the set's JS
// object while in flight and unregisters itself on settle.
class SemWaitOp final : public BlockingOp {
 public:
  SemWaitOp(Napi::Env env, SysVSemSet* set, Napi::Object self, double opId, Deadline deadline, std::vector<struct sembuf> ops)
      : BlockingOp(env, deadline), set_(set), self_(Napi::Persistent(self)), opId_(opId), id_(set->id()), ops_(std::move(ops)) {}

  bool KernelDeadline() const override { return true; }

  void Execute() override {
    for (;;) {
      if (StopRequested()) return;
      struct timespec left;
      struct timespec* limit = nullptr;
      if (!deadline().never()) {
        left = deadline().RemainingTimespec();
        limit = &left;
      }
      int rc = limit == nullptr ? semop(id_, ops_.data(), ops_.size()) : semtimedop(id_, ops_.data(), ops_.size(), limit);
      if (rc == 0) {
        done_ = true;
        return;
      }
      // lib/ never sends IPC_NOWAIT here, so EAGAIN is the time running out.
      if (errno == EAGAIN && limit != nullptr) {
        TimedOut();
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
      // Named by the call made: semop without a deadline, semtimedop with one.
      if (deadline().never()) {
        deferred_.Reject(set_->OsFailure(env, error_, "semop").Value());
      } else {
        deferred_.Reject(set_->OsFailure(env, error_, "semtimedop").Value());
      }
    } else {
      deferred_.Reject(StopError(env, stopReason(), "operation", "System V semaphore set").Value());
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

// op(opId, timeoutMs | -1, ops): Promise<void>, waiting on a waiter thread. lib/ has already
// tried it without waiting, and never passes an operation that asked for noWait.
Napi::Value SysVSemSet::Op(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  double opId = info[0].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
  std::vector<struct sembuf> ops;
  DecodeOps(info[2], ops, false);
  CheckSameSet(env);
  auto op = std::make_unique<SemWaitOp>(env, this, info.This().As<Napi::Object>(), opId, deadline, std::move(ops));
  Napi::Promise promise = op->Promise();
  waits_.Start(opId, std::move(op));
  return promise;
}

// A failed semget, with the limit that refused it, if one did: ENOSPC is either the number of sets
// (SEMMNI) or of semaphores in all sets (SEMMNS), which SEM_INFO's counts in use tell apart; a
// set larger than SEMMSL is EINVAL.
OsError SemgetFailure(int code, const std::string& name, int count, bool creating) {
  OsError error{code, "semget", name};
  SemLimits limits = ReadSemLimits();
  if (code == ENOSPC) {
    struct seminfo info = {};
    union semun arg;
    arg.info = &info;
    bool counted = semctl(0, 0, SEM_INFO, arg) >= 0;
    if (counted && info.semusz < limits.semmni) {
      error.limit = Limit{limit::kSemmns, static_cast<double>(limits.semmns),
          "a set of " + std::to_string(count) + " would pass " + limit::kSemmns + " = " + std::to_string(limits.semmns) +
              ", the most semaphores in all sets (" + std::to_string(info.semaem) + " exist; the second field of /proc/sys/kernel/sem)"};
    } else {
      error.limit = Limit{limit::kSemmni, static_cast<double>(limits.semmni),
          "the system's limit of sets, " + std::string(limit::kSemmni) + " = " + std::to_string(limits.semmni) +
              " (the fourth field of /proc/sys/kernel/sem), is reached"};
    }
  } else if (code == EINVAL && creating && count > limits.semmsl) {
    error.limit = Limit{limit::kSemmsl, static_cast<double>(limits.semmsl),
        std::to_string(count) + " semaphores exceed " + limit::kSemmsl + " = " + std::to_string(limits.semmsl) +
            " per set (the first field of /proc/sys/kernel/sem)"};
  }
  return error;
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
  if (id < 0) Throw(SystemError(env, SemgetFailure(errno, name, count, (flags & kSysVCreate) != 0)));
  // The size of a set we did not create is the kernel's to tell; for any set, IPC_STAT gives what
  // identifies it later (SysVSemSet::SameSet). A set this call created with a mode that denies
  // its creator reading cannot be stat'ed, but then what identifies it is known already.
  struct semid_ds ds;
  union semun arg;
  arg.buf = &ds;
  if (semctl(id, 0, IPC_STAT, arg) != 0) {
    if (!created) Throw(SystemError(env, LastOsError("semctl", name)));
    ds.sem_nsems = static_cast<unsigned long>(count);
    ds.sem_perm.cuid = geteuid();
    ds.sem_perm.cgid = getegid();
  }
  count = static_cast<int>(ds.sem_nsems);
  SysVSemSet::Pending pending{id, keyValue, created, count, ds.sem_perm.cuid, ds.sem_perm.cgid};
  return Addon::Of(env).NewInstance<SysVSemSet>({Napi::External<SysVSemSet::Pending>::New(env, &pending)});
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
  Addon::Of(env).RegisterClass<SysVSemSet>(setClass);
  exports.Set("SysVSemaphoreSet", setClass);
  exports.Set("openSysVSemaphoreSet", Napi::Function::New<OpenSysVSemaphoreSet>(env, "openSysVSemaphoreSet"));
  exports.Set("sysvSemLimits", Napi::Function::New<SysVSemLimits>(env, "sysvSemLimits"));
  Napi::Object constants = Napi::Object::New(env);
  constants.Set("valueMax", Napi::Number::New(env, kSemValueMax));
  SetConstantGroup(exports, "sysvSemaphore", constants);
}

}  // namespace ipckit::posix

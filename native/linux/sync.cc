// Waits and locks inside shared memory: futex wait/wake on any 32-bit word of a mapping, and the
// Mutex, Condition and Barrier of the public header ipckit/sync.h (the same code a C program
// compiles). Synchronous calls run on the calling JavaScript thread; asynchronous waits sleep on
// a waiter thread (native/common/waiter.cc) while the acquiring itself always happens back on the
// JavaScript thread, so a mutex is owned by the thread that asked for it.
#include "linux/sync.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "common/addon.h"
#include "common/constants.h"
#include "common/errors.h"
#include "common/mapping.h"
#include "common/waiter.h"
#include "ipckit/sync.h"

namespace ipckit::posix {

namespace {

// A word, or an object of `size` bytes, at `offset` of an open mapping (lib/ checks the same).
uint8_t* At(Napi::Env env, MappingHandle* mapping, double offset, size_t size, size_t align, bool whileLocked = false) {
  uint8_t* data = mapping->Data(env, whileLocked);
  if (!(offset >= 0) || offset + static_cast<double>(size) > static_cast<double>(mapping->Size()) ||
      static_cast<uint64_t>(offset) % align != 0) {
    Throw(LibraryError(
        env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "offset " + std::to_string(offset) + " is misaligned or outside the mapping"));
  }
  return data + static_cast<size_t>(offset);
}

// Every call names its mapping by slot number (lib/mapping.ts reads it once per handle).
MappingHandle* MappingArg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t slot = 0;
  if (napi_get_value_uint32(env, info[0], &slot) == napi_ok) {
    if (MappingHandle* mapping = Addon::Of(env).mappingSlots->Find(slot)) return mapping;
  }
  Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_CLOSED", "The shared memory is closed"));
}
double Offset(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
long long TimeoutMs(const Napi::CallbackInfo& info, size_t i) {
  double ms = info[i].As<Napi::Number>().DoubleValue();
  return ms < 0 ? -1 : static_cast<long long>(ms);
}

Napi::Error ErrnoError(Napi::Env env, int code, const char* call) { return SystemError(env, OsError{code, call, std::string()}); }

// The bits of condWait's result (binding.constants.sync.condWaitFlags).
constexpr int kCondTimedOut = 1;
constexpr int kCondOwnerDied = 2;

// ---- Held robust mutexes ----
//
// glibc links every robust mutex a thread holds into that thread's robust list, and the links
// live inside the mutexes: in shared memory that every process with write access can overwrite.
// glibc's own unlock follows the links it finds there (it writes through them to unlink the
// mutex), so a peer that scribbles over a held mutex could make this process write wherever it
// chose. ipckit therefore never lets glibc unlock a robust mutex: this thread remembers what it
// holds, in glibc's order, and unlinks a mutex by hand, writing only to addresses it knows (its
// own robust-list head and the other mutexes it holds, all in memory kept mapped while held).
// The links found in shared memory are compared with the expected ones only to report
// tampering; they are never followed. glibc's lock (which links the mutex in, reading nothing
// but the lock word and kind) is used as is, so C and Python peers see the usual protocol.
// This assumes ipckit is the only user of robust mutexes on JavaScript threads.

using MutexList = __pthread_list_t;

// glibc's robust-list entries point at a mutex's __list.__next, not at the mutex.
void* EntryOf(ipckit_mutex_t* m) { return &m->u.mutex.__data.__list.__next; }

struct robust_list_head* RobustHead() {
  thread_local struct robust_list_head* head = nullptr;
  if (head == nullptr) {
    size_t length = 0;
    if (syscall(SYS_get_robust_list, 0, &head, &length) != 0) head = nullptr;
  }
  return head;
}

pid_t ThreadId() {
  thread_local pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  return tid;
}

// The __kind glibc stores for ipckit's mutexes (process-shared, robust, error-checking), read off
// a scratch mutex once rather than spelled from glibc's private constants.
int ExpectedKind() {
  static const int kind = [] {
    ipckit_mutex_t scratch;
    std::memset(&scratch, 0, sizeof scratch);
    return ipckit_mutex_init(&scratch) == 0 ? scratch.u.mutex.__data.__kind : -1;
  }();
  return kind;
}

// glibc's markers in __owner (nptl's PTHREAD_MUTEX_INCONSISTENT and _NOTRECOVERABLE).
constexpr int kOwnerInconsistent = INT_MAX;
constexpr int kOwnerNotRecoverable = INT_MAX - 1;

class HeldMutexes {
 public:
  bool Holds(const ipckit_mutex_t* m) const { return Find(m) >= 0; }
  size_t Count() const { return held_.size(); }

  // Right after glibc acquired `m` on this thread (it is now the head of the robust list).
  void Acquired(ipckit_mutex_t* m) { held_.push_back(m); }

  // Unlinks `m` (held by this thread) from the robust list and, if its lock word still names
  // this thread, releases it as glibc's unlock would. Returns false if the mutex's bytes were
  // not what this thread left there (links, kind or owner overwritten).
  bool Release(ipckit_mutex_t* m) {
    int index = Find(m);
    struct robust_list_head* head = RobustHead();
    if (head == nullptr) {
      // get_robust_list refused (a seccomp filter, say), so this thread's list head is unknown:
      // glibc's own unlock is the only way left to take the mutex off the list.
      held_.erase(held_.begin() + index);
      return ipckit_mutex_unlock(m) == 0;
    }
    void* entry = EntryOf(m);
    void* newer = index + 1 < static_cast<int>(held_.size()) ? EntryOf(held_[index + 1]) : head;
    void* older = index > 0 ? EntryOf(held_[index - 1]) : head;
    pthread_mutex_t& mutex = m->u.mutex;
    uint32_t* word = reinterpret_cast<uint32_t*>(&mutex.__data.__lock);
    uint32_t observed = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    bool ours = (observed & FUTEX_TID_MASK) == static_cast<uint32_t>(ThreadId());
    bool intact = ours && static_cast<void*>(mutex.__data.__list.__next) == older &&
                  static_cast<void*>(mutex.__data.__list.__prev) == newer && mutex.__data.__kind == ExpectedKind();

    // Tell the kernel which mutex is being taken off the list, in case this thread dies midway.
    head->list_op_pending = static_cast<struct robust_list*>(entry);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    // The forward link (the one the kernel walks) first, then the backward one.
    if (newer == head) {
      head->list.next = static_cast<struct robust_list*>(older);
    } else {
      reinterpret_cast<MutexList*>(static_cast<char*>(newer) - offsetof(MutexList, __next))->__next = static_cast<MutexList*>(older);
    }
    if (older != head) {
      reinterpret_cast<MutexList*>(static_cast<char*>(older) - offsetof(MutexList, __next))->__prev = static_cast<MutexList*>(newer);
    }
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    mutex.__data.__list.__prev = nullptr;
    mutex.__data.__list.__next = nullptr;
    held_.erase(held_.begin() + index);
    if (ours) {
      // glibc's robust unlock: an owner that died and was never made consistent leaves the mutex
      // unrecoverable; then the word goes to 0 and one sleeper is woken.
      int owner = mutex.__data.__owner;
      mutex.__data.__owner = owner == kOwnerInconsistent ? kOwnerNotRecoverable : 0;
      mutex.__data.__nusers--;
      uint32_t before = __atomic_exchange_n(word, 0u, __ATOMIC_RELEASE);
      if ((before & FUTEX_WAITERS) != 0) ipckit_wake(word, 1);
    }
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    head->list_op_pending = nullptr;
    return intact;
  }

 private:
  int Find(const ipckit_mutex_t* m) const {
    for (size_t i = held_.size(); i-- > 0;) {
      if (held_[i] == m) return static_cast<int>(i);
    }
    return -1;
  }

  // Oldest first: glibc's robust list runs from the newest (the head) to the oldest.
  std::vector<ipckit_mutex_t*> held_;
};

thread_local HeldMutexes tHeld;

[[noreturn]] void ThrowCorrupt(Napi::Env env) {
  Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_MUTEX_CORRUPT",
      "the mutex's bytes were overwritten while this thread held it (by this process or a peer with write "
      "access): it was taken off this thread's robust list without following any pointer stored in it, and "
      "released if its lock word still named this thread; the data it protects may be inconsistent"));
}

// Unlocks a mutex this thread holds through ipckit, or throws ERR_IPC_MUTEX_NOT_OWNER.
void UnlockHeld(Napi::Env env, MappingHandle* mapping, ipckit_mutex_t* m) {
  if (!tHeld.Holds(m)) {
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_MUTEX_NOT_OWNER", "this thread does not hold the mutex"));
  }
  bool intact = tHeld.Release(m);
  mapping->LockReleased();
  if (!intact) ThrowCorrupt(env);
}

// A wait on mapped memory: pins the mapping's JS object and registers with it, so close() stops
// the wait and unmaps only after it has settled.
class MemoryOp : public BlockingOp {
 public:
  MemoryOp(Napi::Env env, MappingHandle* mapping, double opId, Deadline deadline, uint32_t* word)
      : BlockingOp(env, deadline), mapping_(mapping), pin_(Napi::Persistent(mapping->Value())), opId_(opId), word_(word) {}

  // The futex takes the deadline itself (an absolute CLOCK_MONOTONIC time).
  bool KernelDeadline() const override { return true; }

  void Settle(Napi::Env env) override {
    mapping_->FinishWait(opId_);
    if (completed_) {
      deferred_.Resolve(Napi::Number::New(env, result_));
    } else if (error_ != 0) {
      deferred_.Reject(ErrnoError(env, error_, "futex").Value());
    } else if (stopReason() == StopReason::kTimeout && timeoutResolves_) {
      // waitAsync mirrors Atomics.waitAsync: running out of time is a result, not an error.
      deferred_.Resolve(Napi::Number::New(env, IPCKIT_TIMED_OUT));
    } else {
      deferred_.Reject(StopError(env, stopReason(), "wait", "shared memory").Value());
    }
  }

 protected:
  // The futex deadline, or null for none.
  const struct timespec* Until() {
    if (deadline().never()) return nullptr;
    until_ = deadline().MonotonicTimespec();
    return &until_;
  }
  // After a failed futex wait: true if Execute() should return (timed out, or failed).
  bool Failed(int error) {
    if (error == ETIMEDOUT) {
      TimedOut();
      return true;
    }
    if (error == EAGAIN || error == EINTR) return false;
    error_ = error;
    return true;
  }

 protected:
  MappingHandle* mapping_;
  Napi::ObjectReference pin_;
  double opId_;
  uint32_t* word_;
  bool completed_ = false;
  bool timeoutResolves_ = false;
  int result_ = 0;
  int error_ = 0;
  struct timespec until_ = {};
};

// Sleeps while *word == expected: resolves 0 when woken, 1 if the word differed.
class FutexWaitOp final : public MemoryOp {
 public:
  FutexWaitOp(Napi::Env env, MappingHandle* mapping, double opId, Deadline deadline, uint32_t* word, uint32_t expected)
      : MemoryOp(env, mapping, opId, deadline, word), expected_(expected) {
    timeoutResolves_ = true;
  }

  void Execute() override {
    const struct timespec* until = Until();
    for (;;) {
      if (StopRequested()) return;
      if (ipckit_futex_wait_until(word_, expected_, until) == 0) {
        completed_ = true;
        result_ = IPCKIT_OK;
        return;
      }
      if (errno == EAGAIN) {
        completed_ = true;
        result_ = IPCKIT_NOT_EQUAL;
        return;
      }
      if (Failed(errno)) return;
    }
  }

 private:
  uint32_t expected_;
};

// Sleeps until a robust mutex is worth trying again: its lock word (the kernel's robust-futex
// protocol that glibc follows: owner TID | FUTEX_WAITERS | FUTEX_OWNER_DIED) has no owner, or an
// unlock woke us. Sets FUTEX_WAITERS before sleeping, as glibc's own waiters do, so the holder's
// unlock wakes us.
class MutexSleepOp final : public MemoryOp {
 public:
  using MemoryOp::MemoryOp;

  void Execute() override {
    const struct timespec* until = Until();
    for (;;) {
      if (StopRequested()) return;
      uint32_t word = __atomic_load_n(word_, __ATOMIC_ACQUIRE);
      if ((word & FUTEX_TID_MASK) == 0) break;
      if ((word & FUTEX_WAITERS) == 0) {
        if (!__atomic_compare_exchange_n(word_, &word, word | FUTEX_WAITERS, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
        word |= FUTEX_WAITERS;
      }
      if (ipckit_futex_wait_until(word_, word, until) == 0) break;
      if (Failed(errno)) return;
    }
    completed_ = true;
  }
};

ipckit_mutex_t* MutexAt(const Napi::CallbackInfo& info, bool mustBeValid = true, bool whileLocked = false) {
  auto* mutex =
      reinterpret_cast<ipckit_mutex_t*>(At(info.Env(), MappingArg(info), Offset(info, 1), sizeof(ipckit_mutex_t), 8, whileLocked));
  if (mustBeValid && !ipckit_mutex_valid(mutex)) {
    Throw(LibraryError(
        info.Env(), ErrorKind::kTypeError, "ERR_INVALID_ARG_VALUE", "there is no ipckit Mutex (layout version 1) at this offset"));
  }
  return mutex;
}

// A mutex about to be locked: glibc picks its locking protocol from __kind, so a kind that is
// not ipckit's (bytes overwritten) is refused rather than locked some other way.
ipckit_mutex_t* LockableMutexAt(const Napi::CallbackInfo& info) {
  ipckit_mutex_t* mutex = MutexAt(info);
  if (mutex->u.mutex.__data.__kind != ExpectedKind()) {
    Throw(LibraryError(info.Env(), ErrorKind::kError, "ERR_IPC_MUTEX_CORRUPT",
        "the mutex's bytes were overwritten (its kind is not a robust, process-shared, error-checking mutex): "
        "re-create it once no process uses it"));
  }
  return mutex;
}

ipckit_cond_t* CondAt(const Napi::CallbackInfo& info, size_t index = 1) {
  auto* cond = reinterpret_cast<ipckit_cond_t*>(At(info.Env(), MappingArg(info), Offset(info, index), sizeof(ipckit_cond_t), 8));
  if (!ipckit_cond_valid(cond)) {
    Throw(LibraryError(
        info.Env(), ErrorKind::kTypeError, "ERR_INVALID_ARG_VALUE", "there is no ipckit Condition (layout version 1) at this offset"));
  }
  return cond;
}

ipckit_barrier_t* BarrierAt(const Napi::CallbackInfo& info) {
  auto* barrier = reinterpret_cast<ipckit_barrier_t*>(At(info.Env(), MappingArg(info), Offset(info, 1), sizeof(ipckit_barrier_t), 8));
  if (!ipckit_barrier_valid(barrier)) {
    Throw(LibraryError(
        info.Env(), ErrorKind::kTypeError, "ERR_INVALID_ARG_VALUE", "there is no ipckit Barrier (layout version 1) at this offset"));
  }
  return barrier;
}

// Maps a header result to JS: 0 ok, 2 timed out, 3 owner died; throws on errors.
Napi::Value LockResult(Napi::Env env, int rc, const char* call) {
  if (rc >= 0) return Napi::Number::New(env, rc);
  if (rc == -EDEADLK) {
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_MUTEX_HELD", "this thread already holds the mutex"));
  }
  if (rc == -ENOTRECOVERABLE) {
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_MUTEX_NOT_RECOVERABLE",
        "a holder of the mutex died and it was unlocked without markConsistent(): it can no longer be locked"));
  }
  Throw(ErrnoError(env, -rc, call));
}

// futexWait(mapping, offset, expected, timeoutMs): 0 woken, 1 not equal, 2 timed out
Napi::Value FutexWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* word = reinterpret_cast<uint32_t*>(At(env, MappingArg(info), Offset(info, 1), 4, 4));
  uint32_t expected = static_cast<uint32_t>(info[2].As<Napi::Number>().Int32Value());
  int rc = ipckit_wait(word, expected, TimeoutMs(info, 3));
  if (rc < 0) Throw(ErrnoError(env, -rc, "futex"));
  return Napi::Number::New(env, rc);
}

// futexWaitBrief(mapping, offset, expected, micros, slackMicros = 0): 0 woken, 1 not equal, 2 the
// time ran out. A short wait on the calling thread before an asynchronous one: see lib/futex.ts.
// With a slack, the thread's timer slack is raised for this one wait (and put back): the kernel
// may then end the wait up to that much later, at a timer interrupt it has programmed anyway,
// instead of programming the timer for this wait and again when it is cancelled. On virtual
// machines each programming is a trap to the hypervisor: measured here, a wait with a 50 us
// timeout that is woken after a few microseconds costs about 12 us more than one with a timeout
// past the next scheduler tick.
Napi::Value FutexWaitBrief(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* word = reinterpret_cast<uint32_t*>(At(env, MappingArg(info), Offset(info, 1), 4, 4));
  uint32_t expected = static_cast<uint32_t>(info[2].As<Napi::Number>().Int32Value());
  long long micros = static_cast<long long>(info[3].As<Napi::Number>().DoubleValue());
  long long slack = info.Length() > 4 && info[4].IsNumber() ? static_cast<long long>(info[4].As<Napi::Number>().DoubleValue()) : 0;
  struct SlackScope {
    long before = -1;
    explicit SlackScope(long long micros) {
      if (micros <= 0) return;
      before = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
      if (before >= 0) prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(micros) * 1000UL, 0, 0, 0);
    }
    ~SlackScope() {
      if (before >= 0) prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(before), 0, 0, 0);
    }
  } slack_scope(slack);
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_nsec += static_cast<long>(micros % 1000000) * 1000;
  deadline.tv_sec += static_cast<time_t>(micros / 1000000) + deadline.tv_nsec / 1000000000L;
  deadline.tv_nsec %= 1000000000L;
  for (;;) {
    if (ipckit_futex_wait_until(word, expected, &deadline) == 0) return Napi::Number::New(env, IPCKIT_OK);
    if (errno == EAGAIN) return Napi::Number::New(env, IPCKIT_NOT_EQUAL);
    if (errno == ETIMEDOUT) return Napi::Number::New(env, IPCKIT_TIMED_OUT);
    if (errno != EINTR) Throw(ErrnoError(env, errno, "futex"));
  }
}

// futexWake(mapping, offset, count): woken
Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* word = reinterpret_cast<uint32_t*>(At(env, MappingArg(info), Offset(info, 1), 4, 4));
  int count = info[2].As<Napi::Number>().Int32Value();
  return Napi::Number::New(env, ipckit_wake(word, count));
}

// futexWaitAsync(mapping, opId, timeoutMs | -1, offset, expected, referenced): Promise<0 | 1 | 2>
// (woken, not equal, timed out: the futex takes the deadline).
Napi::Value FutexWaitAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingHandle* mapping = MappingArg(info);
  double opId = info[1].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[2].As<Napi::Number>().DoubleValue());
  auto* word = reinterpret_cast<uint32_t*>(At(env, mapping, Offset(info, 3), 4, 4));
  uint32_t expected = static_cast<uint32_t>(info[4].As<Napi::Number>().Int32Value());
  auto op = std::make_unique<FutexWaitOp>(env, mapping, opId, deadline, word, expected);
  Napi::Promise promise = op->Promise();
  mapping->StartWait(opId, std::move(op), info[5].As<Napi::Boolean>().Value());
  return promise;
}

// mutexSleepAsync(mapping, opId, timeoutMs | -1, offset, referenced): Promise<0>, once the mutex
// is worth trying; rejects with ERR_IPC_TIMEOUT at the deadline.
Napi::Value MutexSleepAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingHandle* mapping = MappingArg(info);
  double opId = info[1].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[2].As<Napi::Number>().DoubleValue());
  ipckit_mutex_t* mutex = reinterpret_cast<ipckit_mutex_t*>(At(env, mapping, Offset(info, 3), sizeof(ipckit_mutex_t), 8));
  auto* word = reinterpret_cast<uint32_t*>(&mutex->u.mutex.__data.__lock);
  auto op = std::make_unique<MutexSleepOp>(env, mapping, opId, deadline, word);
  Napi::Promise promise = op->Promise();
  mapping->StartWait(opId, std::move(op), info[4].As<Napi::Boolean>().Value());
  return promise;
}

// waitStop(mapping, opId, reason) / waitRef(mapping, opId, referenced): the stop() and ref() of a
// wait in shared memory, which lib/ knows by mapping and number rather than by handle.
Napi::Value WaitStop(const Napi::CallbackInfo& info) {
  MappingHandle* mapping = MappingArg(info);
  int reason = info[2].As<Napi::Number>().Int32Value();
  mapping->waits().Stop(info[1].As<Napi::Number>().DoubleValue(),
      reason == static_cast<int>(StopReason::kAborted) ? StopReason::kAborted : StopReason::kClosed);
  return info.Env().Undefined();
}

Napi::Value WaitRef(const Napi::CallbackInfo& info) {
  MappingHandle* mapping = MappingArg(info);
  mapping->waits().SetReferenced(info[1].As<Napi::Number>().DoubleValue(), info[2].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// mutexInit(mapping, offset) / mutexValid(mapping, offset): boolean
Napi::Value MutexInit(const Napi::CallbackInfo& info) {
  ipckit_mutex_t* mutex = MutexAt(info, false);
  // Re-initialising a mutex this thread holds would cut it out of the robust list unseen.
  if (tHeld.Holds(mutex)) {
    Throw(LibraryError(info.Env(), ErrorKind::kError, "ERR_IPC_MUTEX_HELD",
        "this thread holds the mutex at this offset: unlock it before re-creating it"));
  }
  int rc = ipckit_mutex_init(mutex);
  if (rc != 0) Throw(ErrnoError(info.Env(), rc, "pthread_mutex_init"));
  return info.Env().Undefined();
}

Napi::Value MutexValid(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ipckit_mutex_valid(MutexAt(info, false)) != 0);
}

// mutexTryLock(mapping, offset): 0 acquired, 3 acquired (owner died), -16 busy
Napi::Value MutexTryLock(const Napi::CallbackInfo& info) {
  ipckit_mutex_t* mutex = LockableMutexAt(info);
  int rc = ipckit_mutex_trylock(mutex);
  // EDEADLK: this thread holds it through another handle; to this one it is just busy.
  if (rc == -EBUSY || rc == -EDEADLK) return Napi::Number::New(info.Env(), -EBUSY);
  if (rc == IPCKIT_OK || rc == IPCKIT_OWNER_DIED) {
    tHeld.Acquired(mutex);
    MappingArg(info)->LockAcquired();
  }
  return LockResult(info.Env(), rc, "pthread_mutex_trylock");
}

// mutexLock(mapping, offset, timeoutMs): 0, 2 timed out, 3 owner died
Napi::Value MutexLock(const Napi::CallbackInfo& info) {
  ipckit_mutex_t* mutex = LockableMutexAt(info);
  int rc = ipckit_mutex_lock(mutex, TimeoutMs(info, 2));
  if (rc == IPCKIT_OK || rc == IPCKIT_OWNER_DIED) {
    tHeld.Acquired(mutex);
    MappingArg(info)->LockAcquired();
  }
  return LockResult(info.Env(), rc, "pthread_mutex_lock");
}

// After an asynchronous acquisition: the wake-up that sent us here may have been the only one an
// unlock gave, so mark the word as having waiters; the next unlock then wakes any other sleeper.
Napi::Value MutexMarkWaiters(const Napi::CallbackInfo& info) {
  ipckit_mutex_t* mutex = MutexAt(info);
  __atomic_or_fetch(reinterpret_cast<uint32_t*>(&mutex->u.mutex.__data.__lock), FUTEX_WAITERS, __ATOMIC_ACQ_REL);
  return info.Env().Undefined();
}

// mutexUnlock(mapping, offset). Throws ERR_IPC_MUTEX_CORRUPT after releasing a mutex whose bytes
// were overwritten while held.
Napi::Value MutexUnlock(const Napi::CallbackInfo& info) {
  MappingHandle* mapping = MappingArg(info);
  ipckit_mutex_t* mutex = MutexAt(info, false, true);
  UnlockHeld(info.Env(), mapping, mutex);
  return info.Env().Undefined();
}

// mutexHeld(mapping, offset): whether this thread holds it (through any handle of this address)
Napi::Value MutexHeld(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), tHeld.Holds(MutexAt(info, false, true))); }

Napi::Value MutexConsistent(const Napi::CallbackInfo& info) {
  int rc = ipckit_mutex_consistent(MutexAt(info));
  if (rc == -EINVAL) {
    Throw(LibraryError(
        info.Env(), ErrorKind::kError, "ERR_IPC_MUTEX_NOT_OWNER", "markConsistent() is for the holder that was told ownerDied"));
  }
  if (rc != 0) Throw(ErrnoError(info.Env(), -rc, "pthread_mutex_consistent"));
  return info.Env().Undefined();
}

// condInit(mapping, offset) / condValid(mapping, offset)
Napi::Value CondInit(const Napi::CallbackInfo& info) {
  ipckit_cond_init(reinterpret_cast<ipckit_cond_t*>(At(info.Env(), MappingArg(info), Offset(info, 1), sizeof(ipckit_cond_t), 8)));
  return info.Env().Undefined();
}

Napi::Value CondValid(const Napi::CallbackInfo& info) {
  auto* cond = reinterpret_cast<ipckit_cond_t*>(At(info.Env(), MappingArg(info), Offset(info, 1), sizeof(ipckit_cond_t), 8));
  return Napi::Boolean::New(info.Env(), ipckit_cond_valid(cond) != 0);
}

// condWait(mapping, condOffset, mutexOffset, timeoutMs): flags, 1 timed out | 2 the mutex's holder
// died (relocked, inconsistent). The mutex is held again on return, except when relocking threw.
Napi::Value CondWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingHandle* mapping = MappingArg(info);
  ipckit_cond_t* cond = CondAt(info, 1);
  auto* mutex = reinterpret_cast<ipckit_mutex_t*>(At(env, mapping, Offset(info, 2), sizeof(ipckit_mutex_t), 8));
  if (!tHeld.Holds(mutex)) {
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_MUTEX_NOT_OWNER", "wait() needs the mutex held by this thread"));
  }
  uint32_t seq = __atomic_load_n(&cond->seq, __ATOMIC_ACQUIRE);
  __atomic_add_fetch(&cond->waiters, 1, __ATOMIC_ACQ_REL);
  bool intact = tHeld.Release(mutex);
  mapping->LockReleased();
  if (!intact) {
    __atomic_sub_fetch(&cond->waiters, 1, __ATOMIC_ACQ_REL);
    ThrowCorrupt(env);
  }
  int waited = ipckit_wait(&cond->seq, seq, TimeoutMs(info, 3));
  __atomic_sub_fetch(&cond->waiters, 1, __ATOMIC_ACQ_REL);
  if (mutex->u.mutex.__data.__kind != ExpectedKind()) ThrowCorrupt(env);
  int relocked = ipckit_mutex_lock(mutex, -1);
  if (relocked == IPCKIT_OK || relocked == IPCKIT_OWNER_DIED) {
    tHeld.Acquired(mutex);
    mapping->LockAcquired();
  }
  LockResult(env, relocked, "pthread_mutex_lock");
  return Napi::Number::New(env, (waited == IPCKIT_TIMED_OUT ? kCondTimedOut : 0) | (relocked == IPCKIT_OWNER_DIED ? kCondOwnerDied : 0));
}

// condPrepare(mapping, offset): the sequence to wait on, counting this waiter in.
// condDone(mapping, offset): counts it out again.
Napi::Value CondPrepare(const Napi::CallbackInfo& info) {
  ipckit_cond_t* cond = CondAt(info);
  uint32_t seq = __atomic_load_n(&cond->seq, __ATOMIC_ACQUIRE);
  __atomic_add_fetch(&cond->waiters, 1, __ATOMIC_ACQ_REL);
  return Napi::Number::New(info.Env(), static_cast<int32_t>(seq));
}

Napi::Value CondDone(const Napi::CallbackInfo& info) {
  __atomic_sub_fetch(&CondAt(info)->waiters, 1, __ATOMIC_ACQ_REL);
  return info.Env().Undefined();
}

// condNotify(mapping, offset, all): woken
Napi::Value CondNotify(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ipckit_cond_notify(CondAt(info), info[2].As<Napi::Boolean>().Value()));
}

// barrierInit(mapping, offset, parties) / barrierParties(mapping, offset): parties, or 0 if none
Napi::Value BarrierInit(const Napi::CallbackInfo& info) {
  auto* barrier = reinterpret_cast<ipckit_barrier_t*>(At(info.Env(), MappingArg(info), Offset(info, 1), sizeof(ipckit_barrier_t), 8));
  if (ipckit_barrier_init(barrier, info[2].As<Napi::Number>().Uint32Value()) != 0) {
    Throw(LibraryError(info.Env(), ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "parties must be from 1 to 65535"));
  }
  return info.Env().Undefined();
}

Napi::Value BarrierParties(const Napi::CallbackInfo& info) {
  auto* barrier = reinterpret_cast<ipckit_barrier_t*>(At(info.Env(), MappingArg(info), Offset(info, 1), sizeof(ipckit_barrier_t), 8));
  return Napi::Number::New(info.Env(), ipckit_barrier_valid(barrier) ? barrier->parties : 0);
}

// barrierWait(mapping, offset, timeoutMs): 4 serial, 0 released, 2 timed out (arrival taken back)
Napi::Value BarrierWait(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ipckit_barrier_wait(BarrierAt(info), TimeoutMs(info, 2)));
}

// barrierArrive(mapping, offset): -1 if this arrival completed the generation, else the state
Napi::Value BarrierArrive(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ipckit__barrier_arrive(BarrierAt(info))));
}

// barrierState(mapping, offset) / barrierWithdraw(mapping, offset, generation): boolean
Napi::Value BarrierState(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), __atomic_load_n(&BarrierAt(info)->state, __ATOMIC_ACQUIRE));
}

Napi::Value BarrierWithdraw(const Napi::CallbackInfo& info) {
  uint32_t generation = info[2].As<Napi::Number>().Uint32Value();
  return Napi::Boolean::New(info.Env(), ipckit__barrier_withdraw(BarrierAt(info), generation) != 0);
}

}  // namespace

// binding.constants.sync: the header's layouts as compiled here, its macros and result codes.
static Napi::Object SyncConstants(Napi::Env env) {
  auto number = [env](double value) { return Napi::Number::New(env, value); };
  auto frozen = [env](std::initializer_list<std::pair<const char*, Napi::Value>> entries) {
    Napi::Object object = Napi::Object::New(env);
    for (const auto& entry : entries) object.Set(entry.first, entry.second);
    object.Freeze();
    return object;
  };
  return frozen({
      {"version", number(IPCKIT_SYNC_VERSION)},
      {"alignment", number(IPCKIT_SYNC_ALIGN)},
      {"mutex", frozen({{"size", number(sizeof(ipckit_mutex_t))}})},
      {"condition", frozen({{"size", number(sizeof(ipckit_cond_t))}, {"seqOffset", number(offsetof(ipckit_cond_t, seq))}})},
      {"barrier", frozen({{"size", number(sizeof(ipckit_barrier_t))}, {"stateOffset", number(offsetof(ipckit_barrier_t, state))},
                      {"maxParties", number(IPCKIT_BARRIER_MAX_PARTIES)}, {"generationMask", number(IPCKIT_BARRIER_GENERATION_MASK)}})},
      {"results", frozen({{"OK", number(IPCKIT_OK)}, {"NOT_EQUAL", number(IPCKIT_NOT_EQUAL)}, {"TIMED_OUT", number(IPCKIT_TIMED_OUT)},
                      {"OWNER_DIED", number(IPCKIT_OWNER_DIED)}, {"SERIAL", number(IPCKIT_SERIAL)}, {"BUSY", number(-EBUSY)}})},
      {"condWaitFlags", frozen({{"TIMED_OUT", number(kCondTimedOut)}, {"OWNER_DIED", number(kCondOwnerDied)}})},
  });
}

void InitSync(Napi::Env env, Napi::Object exports) {
  Napi::Object sync = Napi::Object::New(env);
  sync.Set("futexWait", Napi::Function::New<FutexWait>(env, "futexWait"));
  sync.Set("futexWake", Napi::Function::New<FutexWake>(env, "futexWake"));
  sync.Set("futexWaitBrief", Napi::Function::New<FutexWaitBrief>(env, "futexWaitBrief"));
  sync.Set("futexWaitAsync", Napi::Function::New<FutexWaitAsync>(env, "futexWaitAsync"));
  sync.Set("mutexSleepAsync", Napi::Function::New<MutexSleepAsync>(env, "mutexSleepAsync"));
  sync.Set("waitStop", Napi::Function::New<WaitStop>(env, "waitStop"));
  sync.Set("waitRef", Napi::Function::New<WaitRef>(env, "waitRef"));
  sync.Set("mutexInit", Napi::Function::New<MutexInit>(env, "mutexInit"));
  sync.Set("mutexValid", Napi::Function::New<MutexValid>(env, "mutexValid"));
  sync.Set("mutexTryLock", Napi::Function::New<MutexTryLock>(env, "mutexTryLock"));
  sync.Set("mutexLock", Napi::Function::New<MutexLock>(env, "mutexLock"));
  sync.Set("mutexMarkWaiters", Napi::Function::New<MutexMarkWaiters>(env, "mutexMarkWaiters"));
  sync.Set("mutexUnlock", Napi::Function::New<MutexUnlock>(env, "mutexUnlock"));
  sync.Set("mutexConsistent", Napi::Function::New<MutexConsistent>(env, "mutexConsistent"));
  sync.Set("mutexHeld", Napi::Function::New<MutexHeld>(env, "mutexHeld"));
  sync.Set("condInit", Napi::Function::New<CondInit>(env, "condInit"));
  sync.Set("condValid", Napi::Function::New<CondValid>(env, "condValid"));
  sync.Set("condWait", Napi::Function::New<CondWait>(env, "condWait"));
  sync.Set("condPrepare", Napi::Function::New<CondPrepare>(env, "condPrepare"));
  sync.Set("condDone", Napi::Function::New<CondDone>(env, "condDone"));
  sync.Set("condNotify", Napi::Function::New<CondNotify>(env, "condNotify"));
  sync.Set("barrierInit", Napi::Function::New<BarrierInit>(env, "barrierInit"));
  sync.Set("barrierParties", Napi::Function::New<BarrierParties>(env, "barrierParties"));
  sync.Set("barrierWait", Napi::Function::New<BarrierWait>(env, "barrierWait"));
  sync.Set("barrierArrive", Napi::Function::New<BarrierArrive>(env, "barrierArrive"));
  sync.Set("barrierState", Napi::Function::New<BarrierState>(env, "barrierState"));
  sync.Set("barrierWithdraw", Napi::Function::New<BarrierWithdraw>(env, "barrierWithdraw"));
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("version", Napi::Number::New(env, IPCKIT_SYNC_VERSION));
  layout.Set("mutexSize", Napi::Number::New(env, sizeof(ipckit_mutex_t)));
  layout.Set("conditionSize", Napi::Number::New(env, sizeof(ipckit_cond_t)));
  layout.Set("barrierSize", Napi::Number::New(env, sizeof(ipckit_barrier_t)));
  layout.Set("alignment", Napi::Number::New(env, IPCKIT_SYNC_ALIGN));
  layout.Freeze();
  sync.Set("layout", layout);
  SetConstantGroup(exports, "sync", SyncConstants(env));
  exports.Set("sync", sync);
}

}  // namespace ipckit::posix

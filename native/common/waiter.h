// The waiting model every blocking primitive shares. A blocking operation is an object with a
// deadline and a Promise: it runs its kernel call on a dedicated waiter thread (never a libuv
// threadpool thread), handing the deadline to the kernel wherever the call takes one, and is
// settled back on the JavaScript thread through one ThreadSafeFunction per environment. Stopping
// an operation (abort, close, a deadline the kernel does not enforce) records a StopReason and
// cancels the thread's call in the platform's way: on POSIX a signal that makes the call fail
// with EINTR (native/posix/cancel.cc); on Windows it will be an event or CancelSynchronousIo.
// Waits on a descriptor the event loop can watch use PollWaits (common/poll_waits.h) instead,
// with the same stop reasons. Either way, a handle offers JavaScript one stop/ref/unref surface
// (WaitingHandle, common/handle.h) over a WaitSet.
#pragma once

#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/deadline.h"
#include "common/errors.h"

namespace ipckit {

class WaiterPool;

// A platform's handle on a waiter thread, for cancelling the call it is in.
using WaiterThread = std::thread::native_handle_type;

// One blocking operation, with its Promise. Subclasses do the call in Execute() and settle the
// Promise in Settle().
class BlockingOp {
 public:
  BlockingOp(Napi::Env env, Deadline deadline) : deferred_(Napi::Promise::Deferred::New(env)), deadline_(deadline) {}
  virtual ~BlockingOp() = default;

  // On a waiter thread. Blocks in the kernel until the call completes, the deadline passes, or a
  // cancel interrupts it; in a retry loop, returns as soon as StopRequested() is true.
  virtual void Execute() = 0;
  // On the JavaScript thread, once Execute() has returned. A result obtained is delivered even if
  // a stop raced it; otherwise, if stopped, reject with StopError(stopReason()).
  virtual void Settle(Napi::Env env) = 0;
  // Whether Execute() hands deadline() to the kernel (futex, sem_clockwait, semtimedop) and calls
  // TimedOut() when it passes. If not (msgrcv, msgsnd), the pool cancels the call at the deadline.
  virtual bool KernelDeadline() const { return false; }

  Napi::Promise Promise() const { return deferred_.Promise(); }
  const Deadline& deadline() const { return deadline_; }
  bool StopRequested() const { return reason_.load(std::memory_order_acquire) != static_cast<int>(StopReason::kNone); }
  StopReason stopReason() const { return static_cast<StopReason>(reason_.load(std::memory_order_acquire)); }

 protected:
  // From Execute(): the kernel says the deadline passed.
  void TimedOut() { RequestStop(StopReason::kTimeout); }

  Napi::Promise::Deferred deferred_;

 private:
  friend class WaiterPool;
  // Records `reason` unless a reason is recorded already; true if this call recorded it.
  bool RequestStop(StopReason reason) {
    int none = static_cast<int>(StopReason::kNone);
    return reason_.compare_exchange_strong(none, static_cast<int>(reason), std::memory_order_acq_rel);
  }

  std::atomic<int> reason_{static_cast<int>(StopReason::kNone)};
  Deadline deadline_;
  bool referenced_ = true;  // JS thread only
  // Under the pool's mutex:
  bool executing_ = false;
  bool cancelled_ = false;  // the pool is cancelling the call (repeated until Execute returns)
  WaiterThread thread_{};   // valid while executing_
  // Set when no thread could be had for the op: it never runs, and settles with this error.
  OsError startError_{0, nullptr, std::string()};
  int startLimit_ = 0;  // ipckit's limit, when that (not the OS) refused the thread
};

// Per-environment pool of waiter threads. Threads are started on demand (every pending operation
// has a thread of its own, so one long wait never delays another) and linger briefly when idle.
// At most MaxWaiterThreads() of them: an operation that finds them all busy, or that the OS
// refuses a thread, fails at once with EAGAIN rather than waiting for a thread whose wait may
// never end. A watchdog thread runs alongside: it enforces the deadlines the kernel does not, and
// repeats a cancel until the cancelled call has returned.
class WaiterPool {
 public:
  explicit WaiterPool(Napi::Env env);
  ~WaiterPool();

  // Starts `op` on a waiter thread; the pool owns it until it is settled. Never throws: an op
  // that gets no thread settles (through Settle(), then rejecting with EAGAIN) like any other.
  void Submit(std::unique_ptr<BlockingOp> op, bool referenced);
  // Stops a pending op for `reason`; it settles unless it completed first.
  void Stop(BlockingOp* op, StopReason reason);
  // Whether the op keeps the event loop alive.
  void SetReferenced(BlockingOp* op, bool referenced);
  // Environment teardown: stops every op, waits for the threads, settles nothing.
  void Shutdown();

 private:
  static void Drain(Napi::Env env, Napi::Function, WaiterPool* pool, void*);
  using Tsfn = Napi::TypedThreadSafeFunction<WaiterPool, void, Drain>;
  static void ThreadEntry(void* pool) { static_cast<WaiterPool*>(pool)->ThreadMain(); }
  static void WatchdogEntry(void* pool) { static_cast<WaiterPool*>(pool)->Watchdog(); }
  void ThreadMain();
  void Watchdog();
  // Under the mutex: starts one more waiter thread (and the watchdog first, if it is not
  // running). False, with `op`'s start error set, if the limit is reached or the OS refuses.
  bool StartWaiterLocked(BlockingOp* op);
  // Under the mutex: the op is stopped (its reason recorded); settle it if it has not started,
  // cancel its call if it is executing.
  void StopLocked(BlockingOp* op);
  static void SettleUnstarted(Napi::Env env, BlockingOp* op);
  void AdjustRef(int delta);

  Napi::Env env_;
  Tsfn tsfn_;
  int referencedCount_ = 0;  // JS thread only
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable exited_;
  std::condition_variable watch_;
  std::deque<BlockingOp*> queue_;
  std::deque<BlockingOp*> done_;
  std::unordered_set<BlockingOp*> owned_;
  const int maxThreads_;
  int idle_ = 0;
  int threads_ = 0;  // waiter threads
  int live_ = 0;     // waiter threads and the watchdog
  bool shutdown_ = false;
  bool watchdog_ = false;
};

// The most waiter threads one environment may have: IPCKIT_MAX_WAITER_THREADS (read once per
// process), or 1024.
int MaxWaiterThreads();

// The waits one handle has pending, wherever they wait: what stop(), ref(), unref() and close()
// act on. JavaScript thread only.
class WaitSet {
 public:
  virtual ~WaitSet() = default;
  // Stops one wait (known to JavaScript as `opId`) for `reason`; a wait already settled is left.
  virtual void Stop(double opId, StopReason reason) = 0;
  virtual void StopAll(StopReason reason) = 0;
  // Whether the handle's pending (and later) waits keep the event loop alive.
  virtual void SetReferenced(bool referenced) = 0;
};

// A handle's waits on the waiter pool.
class PendingWaits final : public WaitSet {
 public:
  void Bind(std::shared_ptr<WaiterPool> pool) { pool_ = std::move(pool); }
  // Submits `op` with the handle's current ref state, or with its own.
  void Start(double opId, std::unique_ptr<BlockingOp> op) { Start(opId, std::move(op), referenced_); }
  void Start(double opId, std::unique_ptr<BlockingOp> op, bool referenced) {
    ops_[opId] = op.get();
    pool_->Submit(std::move(op), referenced);
  }
  bool Has(double opId) const { return ops_.count(opId) != 0; }
  bool empty() const { return ops_.empty(); }
  // The op settled (called from its Settle()).
  void Finish(double opId) { ops_.erase(opId); }
  void Stop(double opId, StopReason reason) override {
    auto it = ops_.find(opId);
    if (it != ops_.end()) pool_->Stop(it->second, reason);
  }
  void StopAll(StopReason reason) override {
    for (auto& [id, op] : ops_) pool_->Stop(op, reason);
  }
  void SetReferenced(bool referenced) override {
    referenced_ = referenced;
    for (auto& [id, op] : ops_) pool_->SetReferenced(op, referenced);
  }
  // One op's ref state (the waits in shared memory are referenced per call, not per handle).
  void SetReferenced(double opId, bool referenced) {
    auto it = ops_.find(opId);
    if (it != ops_.end()) pool_->SetReferenced(it->second, referenced);
  }
  // Environment teardown: the pool frees the ops itself.
  void Clear() { ops_.clear(); }

 private:
  std::shared_ptr<WaiterPool> pool_;
  std::unordered_map<double, BlockingOp*> ops_;
  bool referenced_ = true;
};

// Platform hooks (native/posix/cancel.cc on POSIX).
// Starts a detached thread running main(arg), with a stack sized for a thread that only sits in
// one system call; false, with the failed call in `error`, if the OS refuses one.
bool StartThread(void (*main)(void*), void* arg, OsError* error);
// The error of a thread the pool declines to start (its limit is reached), shaped like the OS's
// own refusal so callers handle both alike.
OsError NoThreadError();
// Once per pool, on the JavaScript thread: whatever cancelling needs process-wide.
void PrepareCancel();
// On a waiter thread, before its first op.
void PrepareWaiterThread();
WaiterThread CurrentWaiterThread();
// Makes the kernel call `thread` is in (or is about to enter) return early. May be called
// repeatedly until the op's Execute() returns; must be harmless to a thread between calls.
void CancelWaiterThread(WaiterThread thread);

}  // namespace ipckit

// The waiting model for kernel waits that have no descriptor to poll (System V msgrcv, msgsnd,
// semop, ...): a dedicated waiter thread blocks in the call, never a libuv threadpool thread, and
// hands the result back to the JavaScript thread through one ThreadSafeFunction per environment.
// Waits that do have a descriptor (POSIX message queues on Linux) use uv_poll instead.
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

#include "common/errors.h"

namespace ipckit {

class WaiterPool;

// One blocking operation, with its Promise. Subclasses do the call in Execute() and settle the
// Promise in Settle().
class BlockingOp {
 public:
  explicit BlockingOp(Napi::Env env) : deferred_(Napi::Promise::Deferred::New(env)) {}
  virtual ~BlockingOp() = default;

  // On a waiter thread. Blocks in the kernel; must return promptly once StopRequested() is true
  // and the call it is in fails with EINTR (or the platform's equivalent).
  virtual void Execute() = 0;
  // On the JavaScript thread, once Execute() has returned. If the call did not complete because
  // a stop was requested, reject with StopCode().
  virtual void Settle(Napi::Env env) = 0;

  Napi::Promise Promise() const { return deferred_.Promise(); }
  bool StopRequested() const { return stop_.load(std::memory_order_acquire); }
  const std::string& StopCode() const { return stopCode_; }
  bool referenced() const { return referenced_; }

 protected:
  Napi::Promise::Deferred deferred_;

 private:
  friend class WaiterPool;
  std::atomic<bool> stop_{false};
  std::string stopCode_;        // written on the JS thread before stop_ is set
  bool referenced_ = true;      // JS thread only
  bool executing_ = false;      // under the pool's mutex
  std::thread::native_handle_type thread_{};  // valid while executing_
  // Set when no thread could be had for the op: it never runs, and settles with this error.
  OsError startError_{0, nullptr, std::string()};
  int startLimit_ = 0;          // ipckit's limit, when that (not the OS) refused the thread
};

// Per-environment pool of waiter threads. Threads are started on demand (every pending operation
// has a thread of its own, so one long wait never delays another) and linger briefly when idle.
// At most MaxWaiterThreads() of them: an operation that finds them all busy, or that the OS
// refuses a thread, fails at once with EAGAIN rather than waiting for a thread whose wait may
// never end.
class WaiterPool {
 public:
  explicit WaiterPool(Napi::Env env);
  ~WaiterPool();

  // Starts `op` on a waiter thread; the pool owns it until it is settled. Never throws: an op
  // that gets no thread settles (through Settle(), then rejecting with EAGAIN) like any other.
  void Submit(std::unique_ptr<BlockingOp> op, bool referenced);
  // Asks a pending op to stop; it settles (rejecting with `code`) unless it completed first.
  void Stop(BlockingOp* op, const char* code);
  // Whether the op keeps the event loop alive.
  void SetReferenced(BlockingOp* op, bool referenced);
  // Environment teardown: stops every op, waits for the threads, settles nothing.
  void Shutdown();

 private:
  static void Drain(Napi::Env env, Napi::Function, WaiterPool* pool, void*);
  using Tsfn = Napi::TypedThreadSafeFunction<WaiterPool, void, Drain>;
  static void ThreadEntry(void* pool) { static_cast<WaiterPool*>(pool)->ThreadMain(); }
  static void KickerEntry(void* pool) { static_cast<WaiterPool*>(pool)->Kicker(); }
  void ThreadMain();
  // Under the mutex: starts one more waiter thread (and the kicker first, if it is not running).
  // False, with `op`'s start error set, if the limit is reached or the OS refuses a thread.
  bool StartWaiterLocked(BlockingOp* op);
  // Settles an op that never ran with its start error.
  static void SettleUnstarted(Napi::Env env, BlockingOp* op);
  void AdjustRef(int delta);
  // A stop signal can land just before the thread enters its call; this thread re-sends it
  // every millisecond until each stopped op has left its call. It runs whenever a waiter thread
  // does (it is started before the first one and ends after the last), so a stop never needs a
  // new thread and always completes, even when no thread can be created any more.
  void Kicker();

  Napi::Env env_;
  Tsfn tsfn_;
  int referencedCount_ = 0;  // JS thread only
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable exited_;
  std::condition_variable kick_;
  std::deque<BlockingOp*> queue_;
  std::deque<BlockingOp*> done_;
  std::unordered_set<BlockingOp*> owned_;
  const int maxThreads_;
  int idle_ = 0;
  int threads_ = 0;  // waiter threads
  int live_ = 0;     // waiter threads and the kicker
  bool shutdown_ = false;
  bool kicker_ = false;
};

// The most waiter threads one environment may have: IPCKIT_MAX_WAITER_THREADS (read once per
// process), or 1024.
int MaxWaiterThreads();

// The waits one handle has in flight on the pool: what every handle's stop(), ref(), unref()
// and close() do to them. JavaScript thread only.
class PendingWaits {
 public:
  void Bind(std::shared_ptr<WaiterPool> pool) { pool_ = std::move(pool); }
  // Submits `op` (known to JavaScript as `opId`) with the handle's current ref state.
  void Start(double opId, std::unique_ptr<BlockingOp> op) {
    ops_[opId] = op.get();
    pool_->Submit(std::move(op), referenced_);
  }
  // The op settled (called from its Settle()).
  void Finish(double opId) { ops_.erase(opId); }
  // Asks one op to stop with ERR_IPC_TIMEOUT, ERR_IPC_ABORTED or (anything else) ERR_IPC_CLOSED.
  void Stop(double opId, const std::string& code) {
    auto it = ops_.find(opId);
    if (it != ops_.end()) pool_->Stop(it->second, CanonicalStopCode(code));
  }
  void StopAll() {
    for (auto& [id, op] : ops_) pool_->Stop(op, "ERR_IPC_CLOSED");
  }
  void SetReferenced(bool referenced) {
    referenced_ = referenced;
    for (auto& [id, op] : ops_) pool_->SetReferenced(op, referenced);
  }
  // Environment teardown: the pool frees the ops itself.
  void Clear() { ops_.clear(); }

  static const char* CanonicalStopCode(const std::string& code) {
    if (code == "ERR_IPC_TIMEOUT") return "ERR_IPC_TIMEOUT";
    if (code == "ERR_IPC_ABORTED") return "ERR_IPC_ABORTED";
    return "ERR_IPC_CLOSED";
  }

 private:
  std::shared_ptr<WaiterPool> pool_;
  std::unordered_map<double, BlockingOp*> ops_;
  bool referenced_ = true;
};

// An ObjectWrap whose operations wait on the pool: the stop(), ref() and unref() methods every
// such handle offers lib/ (lib/waiting.ts calls them), over the handle's PendingWaits.
template <typename T>
class WaitingWrap : public Napi::ObjectWrap<T> {
 public:
  using Property = typename Napi::ObjectWrap<T>::PropertyDescriptor;
  explicit WaitingWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info) {}

  // Adds stop(opId, code), ref() and unref() to a class's properties.
  static std::vector<Property> WithWaitMethods(std::vector<Property> properties) {
    properties.push_back(Napi::ObjectWrap<T>::InstanceMethod("stop", &WaitingWrap::StopWait));
    properties.push_back(Napi::ObjectWrap<T>::InstanceMethod("ref", &WaitingWrap::RefWaits));
    properties.push_back(Napi::ObjectWrap<T>::InstanceMethod("unref", &WaitingWrap::UnrefWaits));
    return properties;
  }

 protected:
  PendingWaits waits_;

 private:
  Napi::Value StopWait(const Napi::CallbackInfo& info) {
    waits_.Stop(info[0].As<Napi::Number>().DoubleValue(), info[1].As<Napi::String>().Utf8Value());
    return info.Env().Undefined();
  }
  Napi::Value RefWaits(const Napi::CallbackInfo& info) {
    waits_.SetReferenced(true);
    return info.Env().Undefined();
  }
  Napi::Value UnrefWaits(const Napi::CallbackInfo& info) {
    waits_.SetReferenced(false);
    return info.Env().Undefined();
  }
};

// Platform hooks (native/posix/interrupt.cc). Starts a detached thread running main(arg), with a
// stack sized for a thread that only sits in one system call; false, with the failed call in
// `error`, if the OS refuses one.
bool StartThread(void (*main)(void*), void* arg, OsError* error);
// The error of a thread the pool declines to start (its limit is reached), shaped like the OS's
// own refusal so callers handle both alike.
OsError NoThreadError();
// A signal with a no-op handler, installed without SA_RESTART, makes a blocked system call in
// the target thread fail with EINTR.
void PrepareInterrupts();
void InterruptThread(std::thread::native_handle_type thread);
std::thread::native_handle_type CurrentThread();
// Blocks, in the calling waiter thread, every signal but the interrupt one.
void ConfigureWaiterThreadSignals();

}  // namespace ipckit

#include "common/waiter.h"

#include <chrono>
#include <cstdlib>
#include <vector>

namespace ipckit {

namespace {
constexpr auto kIdleLinger = std::chrono::seconds(2);
// How often a cancel is repeated until the cancelled call has returned (see CancelWaiterThread).
constexpr auto kCancelRepeat = std::chrono::milliseconds(1);
// Every pending wait holds a thread, so the limit is the number of waits one JavaScript thread
// may have pending at once. 1024 is far more than a program needs (a handful per handle) and far
// below what Linux allows a user (RLIMIT_NPROC and kernel.threads-max are in the tens of
// thousands on a small machine); it keeps a loop that starts waits by mistake from turning into
// ten thousand kernel threads.
constexpr int kDefaultMaxThreads = 1024;
constexpr long kHighestMaxThreads = 1000000;
}  // namespace

int MaxWaiterThreads() {
  // Configuration, not state: read once, never changed.
  static const int value = [] {
    const char* text = std::getenv("IPCKIT_MAX_WAITER_THREADS");
    if (text == nullptr || *text == '\0') return kDefaultMaxThreads;
    char* end = nullptr;
    long parsed = std::strtol(text, &end, 10);
    // Anything but a positive decimal integer is ignored, as if unset.
    if (*end != '\0' || parsed < 1 || parsed > kHighestMaxThreads) return kDefaultMaxThreads;
    return static_cast<int>(parsed);
  }();
  return value;
}

WaiterPool::WaiterPool(Napi::Env env) : env_(env), maxThreads_(MaxWaiterThreads()) {
  PrepareCancel();
  tsfn_ = Tsfn::New(env, "ipckit waiter", 0, 1, this);
  // Only referenced pending operations keep the event loop alive.
  tsfn_.Unref(env);
}

WaiterPool::~WaiterPool() { Shutdown(); }

void WaiterPool::Submit(std::unique_ptr<BlockingOp> op, bool referenced) {
  BlockingOp* raw = op.release();
  raw->referenced_ = referenced;
  if (referenced) AdjustRef(+1);
  std::lock_guard<std::mutex> lock(mutex_);
  owned_.insert(raw);
  // Every queued op gets a thread: an idle one, or a new one.
  if (static_cast<size_t>(idle_) <= queue_.size() && !StartWaiterLocked(raw)) {
    // Settled on the JavaScript thread like an op stopped before it started, so its own Settle()
    // unregisters it from its handle; the recorded reason makes a later stop() of it a no-op.
    raw->RequestStop(StopReason::kClosed);
    done_.push_back(raw);
    tsfn_.NonBlockingCall();
    return;
  }
  queue_.push_back(raw);
  wake_.notify_one();
  // The watchdog keeps the deadlines the kernel does not.
  if (!raw->KernelDeadline() && !raw->deadline().never()) watch_.notify_all();
}

bool WaiterPool::StartWaiterLocked(BlockingOp* op) {
  if (threads_ >= maxThreads_) {
    op->startError_ = NoThreadError();
    op->startLimit_ = maxThreads_;
    return false;
  }
  if (!watchdog_) {
    if (!StartThread(&WaiterPool::WatchdogEntry, this, &op->startError_)) return false;
    watchdog_ = true;
    live_++;
  }
  // If this fails, a watchdog just started finds no waiter thread and ends.
  if (!StartThread(&WaiterPool::ThreadEntry, this, &op->startError_)) return false;
  threads_++;
  live_++;
  idle_++;  // see ThreadMain
  return true;
}

void WaiterPool::ThreadMain() {
  PrepareWaiterThread();
  std::unique_lock<std::mutex> lock(mutex_);
  // Counted idle from the moment it was started (StartWaiterLocked): if another thread takes the
  // op this one was started for, this one is free for the next op before it has even run, and
  // counting it busy would start (or, at the limit, refuse) a thread for nothing.
  for (;;) {
    bool ready = wake_.wait_for(lock, kIdleLinger, [this] { return shutdown_ || !queue_.empty(); });
    idle_--;
    if (!ready || shutdown_) break;
    BlockingOp* op = queue_.front();
    queue_.pop_front();
    op->executing_ = true;
    op->thread_ = CurrentWaiterThread();
    lock.unlock();
    op->Execute();
    lock.lock();
    op->executing_ = false;
    done_.push_back(op);
    if (!shutdown_) tsfn_.NonBlockingCall();
    idle_++;  // before the op can settle: a wait started once it has finds this thread free
  }
  threads_--;
  live_--;
  if (threads_ == 0) watch_.notify_all();  // the watchdog ends with the last waiter thread
  exited_.notify_all();
}

void WaiterPool::Stop(BlockingOp* op, StopReason reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (owned_.count(op) == 0 || !op->RequestStop(reason)) return;
  StopLocked(op);
}

void WaiterPool::StopLocked(BlockingOp* op) {
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (*it == op) {
      // Not started yet: settle it without ever running it.
      queue_.erase(it);
      done_.push_back(op);
      tsfn_.NonBlockingCall();
      return;
    }
  }
  if (op->executing_ && !op->cancelled_) {
    // The watchdog is running (an op is executing, so a waiter thread is): it repeats the cancel
    // until the op has left its call.
    op->cancelled_ = true;
    CancelWaiterThread(op->thread_);
    watch_.notify_all();
  }
}

void WaiterPool::Watchdog() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    bool cancelling = false;
    bool timed = false;
    Deadline::Clock::time_point next{};
    std::vector<BlockingOp*> expired;
    for (BlockingOp* op : owned_) {
      if (op->executing_ && op->cancelled_) {
        CancelWaiterThread(op->thread_);
        cancelling = true;
      } else if (!op->KernelDeadline() && !op->deadline().never() && !op->StopRequested()) {
        if (op->deadline().Passed()) {
          expired.push_back(op);
        } else if (!timed || op->deadline().at() < next) {
          next = op->deadline().at();
          timed = true;
        }
      }
    }
    for (BlockingOp* op : expired) {
      if (op->RequestStop(StopReason::kTimeout)) StopLocked(op);
      cancelling = cancelling || op->cancelled_;
    }
    if (shutdown_ || (!cancelling && threads_ == 0)) break;
    if (cancelling) {
      watch_.wait_for(lock, kCancelRepeat);
    } else if (timed) {
      watch_.wait_until(lock, next);
    } else {
      watch_.wait(lock);
    }
  }
  watchdog_ = false;
  live_--;
  exited_.notify_all();
}

void WaiterPool::SetReferenced(BlockingOp* op, bool referenced) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (owned_.count(op) == 0) return;
  }
  if (op->referenced_ == referenced) return;
  op->referenced_ = referenced;
  AdjustRef(referenced ? +1 : -1);
}

void WaiterPool::AdjustRef(int delta) {
  int before = referencedCount_;
  referencedCount_ += delta;
  if (before == 0 && referencedCount_ > 0) tsfn_.Ref(env_);
  if (before > 0 && referencedCount_ == 0) tsfn_.Unref(env_);
}

void WaiterPool::Drain(Napi::Env env, Napi::Function, WaiterPool* pool, void*) {
  if (env == nullptr) return;  // the function is being torn down
  std::deque<BlockingOp*> done;
  {
    std::lock_guard<std::mutex> lock(pool->mutex_);
    done.swap(pool->done_);
    for (BlockingOp* op : done) pool->owned_.erase(op);
  }
  for (BlockingOp* op : done) {
    std::unique_ptr<BlockingOp> owned(op);
    if (op->referenced_) pool->AdjustRef(-1);
    Napi::HandleScope scope(env);
    if (op->startError_.code != 0) {
      SettleUnstarted(env, op);
    } else {
      op->Settle(env);
    }
  }
}

void WaiterPool::SettleUnstarted(Napi::Env env, BlockingOp* op) {
  Napi::Error error = SystemError(env, op->startError_);
  if (op->startLimit_ > 0) {
    error.Set("message", error.Message() + " (ipckit's limit of " + std::to_string(op->startLimit_) +
                             " waiter threads for this JavaScript thread is reached: each pending wait holds one; "
                             "IPCKIT_MAX_WAITER_THREADS sets the limit)");
  }
  // Settle() is the op's only way to let go of its handle (every kind unregisters there), and it
  // rejects as for a stop. It gets a stand-in promise that nobody sees, with a handler so its
  // rejection is not reported as unhandled; the caller's promise gets the start error.
  Napi::Promise::Deferred caller = op->deferred_;
  op->deferred_ = Napi::Promise::Deferred::New(env);
  Napi::Promise standIn = op->deferred_.Promise();
  standIn.Catch(Napi::Function::New(env, [](const Napi::CallbackInfo&) {}));
  op->Settle(env);
  caller.Reject(error.Value());
}

void WaiterPool::Shutdown() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (shutdown_) return;
  shutdown_ = true;
  for (BlockingOp* op : owned_) op->RequestStop(StopReason::kClosed);
  wake_.notify_all();
  watch_.notify_all();
  while (live_ > 0) {
    for (BlockingOp* op : owned_) {
      if (op->executing_) CancelWaiterThread(op->thread_);
    }
    exited_.wait_for(lock, kCancelRepeat);
  }
  // The environment is going away: nothing is settled, the operations are just freed.
  std::vector<BlockingOp*> owned(owned_.begin(), owned_.end());
  owned_.clear();
  queue_.clear();
  done_.clear();
  lock.unlock();
  for (BlockingOp* op : owned) delete op;
  tsfn_.Release();
}

}  // namespace ipckit

#include "common/waiter.h"

#include <chrono>
#include <vector>

namespace ipckit {

namespace {
constexpr auto kIdleLinger = std::chrono::seconds(2);
constexpr auto kKickInterval = std::chrono::milliseconds(1);
}  // namespace

WaiterPool::WaiterPool(Napi::Env env) : env_(env) {
  PrepareInterrupts();
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
  queue_.push_back(raw);
  // Every queued op gets a thread: an idle one, or a new one.
  if (static_cast<size_t>(idle_) < queue_.size()) {
    live_++;
    std::thread(&WaiterPool::ThreadMain, this).detach();
  }
  wake_.notify_one();
}

void WaiterPool::ThreadMain() {
  ConfigureWaiterThreadSignals();
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    idle_++;
    bool ready = wake_.wait_for(lock, kIdleLinger, [this] { return shutdown_ || !queue_.empty(); });
    idle_--;
    if (!ready || shutdown_) break;
    BlockingOp* op = queue_.front();
    queue_.pop_front();
    op->executing_ = true;
    op->thread_ = CurrentThread();
    lock.unlock();
    op->Execute();
    lock.lock();
    op->executing_ = false;
    done_.push_back(op);
    if (!shutdown_) tsfn_.NonBlockingCall();
  }
  live_--;
  exited_.notify_all();
}

void WaiterPool::Stop(BlockingOp* op, const char* code) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (owned_.count(op) == 0 || op->StopRequested()) return;
  op->stopCode_ = code;
  op->stop_.store(true, std::memory_order_release);
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (*it == op) {
      // Not started yet: settle it without ever running it.
      queue_.erase(it);
      done_.push_back(op);
      tsfn_.NonBlockingCall();
      return;
    }
  }
  if (op->executing_) {
    InterruptThread(op->thread_);
    if (!kicking_) {
      kicking_ = true;
      live_++;
      std::thread(&WaiterPool::Kicker, this).detach();
    }
  }
}

void WaiterPool::Kicker() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    kick_.wait_for(lock, kKickInterval);
    bool any = false;
    for (BlockingOp* op : owned_) {
      if (op->executing_ && op->StopRequested()) {
        InterruptThread(op->thread_);
        any = true;
      }
    }
    if (!any) break;
  }
  kicking_ = false;
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
    op->Settle(env);
  }
}

void WaiterPool::Shutdown() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (shutdown_) return;
  shutdown_ = true;
  for (BlockingOp* op : owned_) {
    op->stopCode_ = "ERR_IPC_CLOSED";
    op->stop_.store(true, std::memory_order_release);
  }
  wake_.notify_all();
  kick_.notify_all();
  while (live_ > 0) {
    for (BlockingOp* op : owned_) {
      if (op->executing_) InterruptThread(op->thread_);
    }
    exited_.wait_for(lock, kKickInterval);
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

#include "posix/poll_waits.h"

#include <chrono>
#include <functional>

namespace ipckit::posix {

namespace {
void FreeHandle(uv_handle_t* handle) {
  if (handle->type == UV_POLL) {
    delete reinterpret_cast<uv_poll_t*>(handle);
  } else {
    delete reinterpret_cast<uv_timer_t*>(handle);
  }
}
}  // namespace

Napi::Promise PollWaits::Add(Napi::Env env, Napi::Object self, int fd, Op op) {
  env_ = env;
  fd_ = fd;
  if (!async_) async_ = std::make_unique<Napi::AsyncContext>(env, resourceName_);
  if (self_.IsEmpty()) self_ = Napi::Persistent(self);
  Napi::Promise promise = op.deferred.Promise();
  List(op.direction).push_back(std::move(op));
  Update(env);
  return promise;
}

void PollWaits::Stop(double opId, StopReason reason) {
  if (env_ == nullptr) return;
  Napi::Env env(env_);
  for (auto* list : {&reads_, &writes_}) {
    for (auto it = list->begin(); it != list->end(); ++it) {
      if (it->id != opId) continue;
      // The op is only a record on this thread: nothing can be half done, so it settles now.
      Op op = std::move(*it);
      list->erase(it);
      Napi::Value error = client_->Stopped(env, op, reason).Value();
      client_->Discard(op);
      op.deferred.Reject(error);
      Update(env);
      return;
    }
  }
}

void PollWaits::StopAll(StopReason reason) {
  if (env_ == nullptr) return;
  Napi::Env env(env_);
  RejectAll(env, [&](const Op& op) { return client_->Stopped(env, op, reason).Value(); });
  Update(env);
}

void PollWaits::RejectAll(Napi::Env env, const std::function<Napi::Value(const Op&)>& error) {
  std::deque<Op> reads, writes;
  reads.swap(reads_);
  writes.swap(writes_);
  for (auto* list : {&writes, &reads}) {
    for (Op& op : *list) {
      Napi::Value reason = error(op);
      client_->Discard(op);
      op.deferred.Reject(reason);
    }
  }
  (void)env;
}

void PollWaits::Fail(std::deque<Op>& list, Napi::Value error) {
  Op op = std::move(list.front());
  list.pop_front();
  client_->Discard(op);
  op.deferred.Reject(error);
}

void PollWaits::SetReferenced(bool referenced) {
  referenced_ = referenced;
  for (uv_handle_t* handle : {reinterpret_cast<uv_handle_t*>(poll_), reinterpret_cast<uv_handle_t*>(timer_)}) {
    if (handle == nullptr) continue;
    if (referenced) {
      uv_ref(handle);
    } else {
      uv_unref(handle);
    }
  }
}

void PollWaits::Release() {
  for (uv_handle_t* handle : {reinterpret_cast<uv_handle_t*>(poll_), reinterpret_cast<uv_handle_t*>(timer_)}) {
    if (handle != nullptr) uv_close(handle, FreeHandle);
  }
  poll_ = nullptr;
  timer_ = nullptr;
  // Teardown: nothing can settle now, but what the ops hold (descriptors) is freed.
  for (auto* list : {&reads_, &writes_}) {
    for (Op& op : *list) client_->Discard(op);
    list->clear();
  }
  self_.Reset();
}

void PollWaits::Update(Napi::Env env) {
  int events = (reads_.empty() ? 0 : UV_READABLE) | (writes_.empty() ? 0 : UV_WRITABLE);
  if (events == 0) {
    if (poll_ != nullptr) uv_poll_stop(poll_);
    if (timer_ != nullptr) uv_timer_stop(timer_);
    watching_ = 0;
    self_.Reset();
    return;
  }
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  if (poll_ == nullptr) {
    auto* poll = new uv_poll_t;
    int rc = uv_poll_init(loop, poll, fd_);
    if (rc != 0) {
      delete poll;
      RejectAll(env, [&](const Op&) { return SystemError(env, OsError{-rc, "uv_poll_init", std::string()}).Value(); });
      self_.Reset();
      return;
    }
    poll->data = this;
    if (!referenced_) uv_unref(reinterpret_cast<uv_handle_t*>(poll));
    poll_ = poll;
  }
  if (events != watching_ || !uv_is_active(reinterpret_cast<uv_handle_t*>(poll_))) {
    uv_poll_start(poll_, events, OnReady);
    watching_ = events;
  }
  // The earliest deadline among the pending ops, if any.
  bool timed = false;
  Deadline::Clock::time_point next{};
  for (auto* list : {&reads_, &writes_}) {
    for (const Op& op : *list) {
      if (op.deadline.never()) continue;
      if (!timed || op.deadline.at() < next) next = op.deadline.at();
      timed = true;
    }
  }
  if (!timed) {
    if (timer_ != nullptr) uv_timer_stop(timer_);
    return;
  }
  if (timer_ == nullptr) {
    timer_ = new uv_timer_t;
    uv_timer_init(loop, timer_);
    timer_->data = this;
    if (!referenced_) uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - Deadline::Clock::now()).count();
  // Rounded up, so the timer never fires before the deadline it is for.
  uv_timer_start(timer_, OnTimer, left < 0 ? 0 : static_cast<uint64_t>(left) + 1, 0);
}

void PollWaits::OnReady(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<PollWaits*>(handle->data);
  Napi::Env env(self->env_);
  Napi::HandleScope scope(env);
  // Settling inside a callback scope runs the promise reactions (microtasks) right after.
  Napi::CallbackScope callbackScope(env, *self->async_);
  self->Service(env, status, events);
}

void PollWaits::OnTimer(uv_timer_t* handle) {
  auto* self = static_cast<PollWaits*>(handle->data);
  Napi::Env env(self->env_);
  Napi::HandleScope scope(env);
  Napi::CallbackScope callbackScope(env, *self->async_);
  self->Expire(env);
}

void PollWaits::Expire(Napi::Env env) {
  for (auto* list : {&writes_, &reads_}) {
    for (auto it = list->begin(); it != list->end();) {
      if (!it->deadline.Passed()) {
        ++it;
        continue;
      }
      Op op = std::move(*it);
      it = list->erase(it);
      Napi::Value error = client_->Stopped(env, op, StopReason::kTimeout).Value();
      client_->Discard(op);
      op.deferred.Reject(error);
    }
  }
  Update(env);
}

void PollWaits::Service(Napi::Env env, int status, int events) {
  // libuv reports POLLERR as a status of UV_EBADF (and stops the watch): the descriptor has an
  // error pending, such as a Unix socket whose peer closed with bytes unread. Every op is tried
  // then, so that it fails with its own system call's error (EPIPE, ECONNRESET) or still succeeds
  // (data that arrived first); only one that cannot proceed fails with the poll's status.
  const bool failed = status < 0;
  // Serve in call order until the kernel says "not now"; an op keeps its place in line.
  for (Direction direction : {kWrite, kRead}) {
    if (!failed && !(events & (direction == kWrite ? UV_WRITABLE : UV_READABLE))) continue;
    std::deque<Op>& list = List(direction);
    while (!list.empty()) {
      bool settled;
      try {
        settled = client_->TryNow(env, list.front());
      } catch (const Napi::Error& error) {
        Fail(list, error.Value());
        continue;
      }
      if (settled) {
        list.pop_front();
      } else if (failed) {
        Fail(list, SystemError(env, OsError{-status, "uv_poll", std::string()}).Value());
      } else {
        break;
      }
    }
  }
  Update(env);
}

}  // namespace ipckit::posix

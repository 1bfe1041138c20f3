// Waits on a descriptor the event loop can watch: no thread at all. Each wait is readable- or
// writable-bound, has a deadline (one uv_timer is armed for the earliest), and is served in call
// order on the JavaScript thread when uv_poll says the descriptor is ready. It is the WaitSet of
// handles whose kernel object is a pollable descriptor (POSIX message queues on Linux; later
// FIFOs and eventfds), with the same stop reasons as waits on the waiter pool.
#pragma once

#include <napi.h>
#include <uv.h>

#include <deque>
#include <string>
#include <vector>

#include "common/deadline.h"
#include "common/errors.h"
#include "common/waiter.h"

namespace ipckit::posix {

class PollWaits final : public WaitSet {
 public:
  enum Direction { kRead = 0, kWrite = 1 };

  struct Op {
    explicit Op(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
    double id = 0;
    Direction direction = kRead;
    Deadline deadline;
    Napi::Promise::Deferred deferred;
    std::vector<char> data;  // what the client keeps with the op (a send's copied bytes)
    unsigned arg = 0;        // and one number (a send's priority)
  };

  class Client {
   public:
    virtual ~Client() = default;
    // Tries `op` now. Returns false if the descriptor is not ready (the op stays queued); else it
    // has settled the op (resolved, or rejected with an error it throws as Napi::Error).
    virtual bool TryNow(Napi::Env env, Op& op) = 0;
    // What a stopped op is rejected with.
    virtual Napi::Error Stopped(Napi::Env env, const Op& op, StopReason reason) = 0;
    // Frees what the client keeps with an op that ends without having been carried out (stopped,
    // timed out, failed, or dropped at teardown): a send's duplicated descriptors. Called once
    // per such op, by PollWaits only; TryNow leaves it to PollWaits when it throws.
    virtual void Discard(Op& op) { (void)op; }
  };

  PollWaits(Client* client, const char* resourceName) : client_(client), resourceName_(resourceName) {}
  ~PollWaits() override { Release(); }

  // Queues `op` and watches `fd` for it; the promise settles as the op does. `self` (the handle's
  // JS object) is pinned while anything is pending.
  Napi::Promise Add(Napi::Env env, Napi::Object self, int fd, Op op);

  void Stop(double opId, StopReason reason) override;
  void StopAll(StopReason reason) override;
  void SetReferenced(bool referenced) override;
  // Stops watching and frees the libuv handles (their close callbacks free them); pending ops are
  // dropped unsettled (teardown), so settle them first where JavaScript can still run.
  void Release();

 private:
  static void OnReady(uv_poll_t* handle, int status, int events);
  static void OnTimer(uv_timer_t* handle);
  void Service(Napi::Env env, int status, int events);
  void Expire(Napi::Env env);
  // Watches for what the pending ops need (or stops), arms the timer for the earliest deadline,
  // and pins or unpins the JS object.
  void Update(Napi::Env env);
  void RejectAll(Napi::Env env, const std::function<Napi::Value(const Op&)>& error);
  // Pops the op at the front of `list`, discards it and rejects it with `error`.
  void Fail(std::deque<Op>& list, Napi::Value error);
  std::deque<Op>& List(Direction direction) { return direction == kRead ? reads_ : writes_; }

  Client* client_;
  const char* resourceName_;
  napi_env env_ = nullptr;
  int fd_ = -1;
  std::deque<Op> reads_;
  std::deque<Op> writes_;
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  int watching_ = 0;
  bool referenced_ = true;
  Napi::ObjectReference self_;
  std::unique_ptr<Napi::AsyncContext> async_;
};

}  // namespace ipckit::posix

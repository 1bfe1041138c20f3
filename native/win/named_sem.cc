// Named semaphores on Windows: CreateSemaphoreW / OpenSemaphoreW on `Local\jobs` for ipckit's
// '/jobs' (win/names.h), with the native surface of native/linux/named_sem.cc so that
// lib/semaphore.ts is the same on both. Posts and non-waiting takes run on the JavaScript thread;
// async waits sit in an alertable WaitForSingleObjectEx on the addon's waiter threads (the
// pool's APC ends them, win/cancel.cc); waitSync waits on the calling thread. The largest value
// is LONG_MAX; the value is read with NtQuerySemaphore. As for file mappings, a semaphore's name
// lasts as long as some process has it open, and unlinkSemaphore only checks the name.
#include "win/named_sem.h"

#include <windows.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "common/addon.h"
#include "common/constants.h"
#include "common/errors.h"
#include "common/handle.h"
#include "common/waiter.h"
#include "win/names.h"
#include "win/wait_ms.h"

namespace ipckit::win {

namespace {

constexpr uint32_t kCreate = kSemaphoreCreate;
constexpr uint32_t kExclusive = kSemaphoreExclusive;
constexpr LONG kValueMax = LONG_MAX;

// ntdll's NtQuerySemaphore and its SemaphoreBasicInformation (class 0).
struct SemaphoreBasicInformation {
  ULONG currentCount;
  ULONG maximumCount;
};
using NtQuerySemaphoreFn = LONG(NTAPI*)(HANDLE, int, PVOID, ULONG, PULONG);

// The semaphore's handle, shared by the JS handle and its pending waits: it is closed when the
// last of them lets go, never while a waiter thread is still waiting on it.
using SemOwner = OwnedHandle;

class NamedSemaphore : public WaitingHandle<NamedSemaphore> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b69745345ULL, 0x4d77696e33323031ULL};
  static constexpr const char* kKindName = "named semaphore";

  struct Pending {
    HANDLE sem;
    std::string name;
    bool created;
  };

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<NamedSemaphore>::DefineClass(env, "NamedSemaphore",
        WithWaitMethods({
            Getter<&NamedSemaphore::Created>("created"),
            Getter<&NamedSemaphore::GetValue>("value"),
            Method<&NamedSemaphore::Post>("post"),
            Method<&NamedSemaphore::TryWait>("tryWait"),
            Method<&NamedSemaphore::Wait>("wait"),
            Method<&NamedSemaphore::WaitSync>("waitSync"),
            Method<&NamedSemaphore::Close>("close"),
        }));
  }

  explicit NamedSemaphore(const Napi::CallbackInfo& info) : WaitingHandle<NamedSemaphore>(info) {
    Pending* pending = PendingArg<Pending>(info);
    sem_ = std::make_shared<SemOwner>(pending->sem);
    pending->sem = nullptr;  // owned here from now on
    name_ = pending->name;
    created_ = pending->created;
    waits_.Bind(Addon::Of(info.Env()).waiters);
  }

  void ReleaseForTeardown() override {
    waits_.Clear();
    MarkClosed();
    sem_.reset();
  }

  void Forget(double opId) { waits_.Finish(opId); }
  std::string name() const override { return name_; }

 protected:
  WaitSet& waits() override { return waits_; }

 private:
  Napi::Value Created(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), created_); }

  Napi::Value GetValue(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    static const NtQuerySemaphoreFn query = NtdllFunction<NtQuerySemaphoreFn>("NtQuerySemaphore");
    if (query == nullptr) Throw(OsFailure(env, ERROR_PROC_NOT_FOUND, "NtQuerySemaphore"));
    SemaphoreBasicInformation basic = {};
    LONG status = query(sem_->get(), 0, &basic, sizeof basic, nullptr);
    if (status < 0) Throw(OsFailure(env, NtStatusError(status), "NtQuerySemaphore"));
    return Napi::Number::New(env, basic.currentCount);
  }

  Napi::Value Post(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    // ERROR_TOO_MANY_POSTS past LONG_MAX: EOVERFLOW, as sem_post says past SEM_VALUE_MAX.
    if (!ReleaseSemaphore(sem_->get(), 1, nullptr)) Throw(OsFailure(env, static_cast<int>(GetLastError()), "ReleaseSemaphore"));
    return env.Undefined();
  }

  Napi::Value TryWait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    DWORD rc = WaitForSingleObject(sem_->get(), 0);
    if (rc == WAIT_OBJECT_0) return Napi::Boolean::New(env, true);
    if (rc == WAIT_TIMEOUT) return Napi::Boolean::New(env, false);
    Throw(OsFailure(env, static_cast<int>(GetLastError()), "WaitForSingleObject"));
  }

  // waitSync(timeoutMs | -1): boolean, false when the time ran out. Blocks the calling thread;
  // not alertable, so nothing but a post or the time ends it (as sem_clockwait on Linux).
  Napi::Value WaitSync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    Deadline deadline = Deadline::After(info[0].As<Napi::Number>().DoubleValue());
    for (;;) {
      DWORD rc = WaitForSingleObjectEx(sem_->get(), WaitMs(deadline), FALSE);
      if (rc == WAIT_OBJECT_0) return Napi::Boolean::New(env, true);
      if (rc == WAIT_TIMEOUT) {
        if (deadline.Passed()) return Napi::Boolean::New(env, false);
        continue;  // a wait cut to INFINITE - 1 ms, or rounding: the deadline is the judge
      }
      Throw(OsFailure(env, static_cast<int>(GetLastError()), "WaitForSingleObjectEx"));
    }
  }

  Napi::Value Wait(const Napi::CallbackInfo& info);

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (closed()) return info.Env().Undefined();
    MarkClosed();
    waits_.StopAll(StopReason::kClosed);
    sem_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<SemOwner> sem_;
  std::string name_;
  bool created_ = false;
  PendingWaits waits_;
};

// One wait on a waiter thread: an alertable WaitForSingleObjectEx until the deadline. The pool's
// APC (abort, close) makes it return WAIT_IO_COMPLETION, and the loop then sees StopRequested().
class SemWaitOp final : public BlockingOp {
 public:
  SemWaitOp(Napi::Env env, NamedSemaphore* handle, Napi::Object self, double opId, Deadline deadline, std::shared_ptr<SemOwner> sem)
      : BlockingOp(env, deadline), handle_(handle), self_(Napi::Persistent(self)), opId_(opId), sem_(std::move(sem)) {}

  bool KernelDeadline() const override { return true; }

  void Execute() override {
    for (;;) {
      if (StopRequested()) return;
      DWORD rc = WaitForSingleObjectEx(sem_->get(), WaitMs(deadline()), TRUE);
      if (rc == WAIT_OBJECT_0) {
        got_ = true;
        return;
      }
      if (rc == WAIT_IO_COMPLETION) continue;
      if (rc == WAIT_TIMEOUT) {
        if (deadline().Passed()) {
          TimedOut();
          return;
        }
        continue;
      }
      error_ = static_cast<int>(GetLastError());
      if (error_ == 0) error_ = ERROR_GEN_FAILURE;
      return;
    }
  }

  void Settle(Napi::Env env) override {
    handle_->Forget(opId_);
    if (got_) {
      // Taken as the stop was requested: the caller has the semaphore, so the wait succeeds.
      deferred_.Resolve(env.Undefined());
    } else if (error_ != 0) {
      deferred_.Reject(handle_->OsFailure(env, error_, "WaitForSingleObjectEx").Value());
    } else {
      deferred_.Reject(StopError(env, stopReason(), "wait", "semaphore").Value());
    }
  }

 private:
  NamedSemaphore* handle_;
  Napi::ObjectReference self_;
  double opId_;
  std::shared_ptr<SemOwner> sem_;
  bool got_ = false;
  int error_ = 0;
};

Napi::Value NamedSemaphore::Wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  double opId = info[0].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
  auto op = std::make_unique<SemWaitOp>(env, this, info.This().As<Napi::Object>(), opId, deadline, sem_);
  Napi::Promise promise = op->Promise();
  waits_.Start(opId, std::move(op));
  return promise;
}

// ERROR_INVALID_HANDLE from CreateSemaphoreW/OpenSemaphoreW: the name is taken by an object of
// another type (a file mapping, an event): Windows keeps them all in one namespace.
[[noreturn]] void ThrowOpenFailure(Napi::Env env, const OsError& error) {
  if (error.code == ERROR_INVALID_HANDLE) {
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_INVALID_OBJECT",
        "'" + error.path + "' is not a semaphore: the name belongs to another kind of Windows object"));
  }
  Throw(SystemError(env, error));
}

// openSemaphore(name, flags, mode, initial): NamedSemaphore. `mode` is not used on Windows (the
// default security descriptor of the creating process applies).
Napi::Value OpenNamedSemaphore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  uint32_t flags = info[1].As<Napi::Number>().Uint32Value();
  double initial = info[3].As<Napi::Number>().DoubleValue();
  std::wstring object = CheckedObjectName(env, name);
  OwnedHandle sem;
  bool created = false;
  if (flags & kCreate) {
    if (!(initial >= 0) || initial > kValueMax) {
      Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "initial is out of range"));
    }
    sem.Reset(CreateSemaphoreW(nullptr, static_cast<LONG>(initial), kValueMax, object.c_str()));
    if (sem.get() == nullptr) ThrowOpenFailure(env, LastOsError("CreateSemaphoreW", name));
    // The name existed: CreateSemaphoreW opened it (with its own value) instead.
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
      if (flags & kExclusive) {
        sem.Reset();
        Throw(SystemError(env, OsError{ERROR_ALREADY_EXISTS, "CreateSemaphoreW", name}));
      }
    } else {
      created = true;
    }
  } else {
    // SEMAPHORE_QUERY_STATE (0x0001) for NtQuerySemaphore; Win32 headers do not name it.
    sem.Reset(OpenSemaphoreW(SYNCHRONIZE | SEMAPHORE_MODIFY_STATE | 0x0001, FALSE, object.c_str()));
    if (sem.get() == nullptr) ThrowOpenFailure(env, LastOsError("OpenSemaphoreW", name));
  }
  NamedSemaphore::Pending pending{sem.get(), name, created};
  Napi::Object handle = Addon::Of(env).NewInstance<NamedSemaphore>({Napi::External<NamedSemaphore::Pending>::New(env, &pending)});
  // The constructor took the handle (it set pending.sem to null); if it threw, `sem` closes it.
  if (pending.sem == nullptr) sem.Release();
  return handle;
}

// unlinkSemaphore(name): Windows has no unlink (see native/win/shm.cc's UnlinkSharedMemory).
Napi::Value UnlinkSemaphore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckedObjectName(env, info[0].As<Napi::String>().Utf8Value());
  return env.Undefined();
}

}  // namespace

void InitNamedSemaphore(Napi::Env env, Napi::Object exports) {
  Napi::Function semaphoreClass = NamedSemaphore::DefineClass(env);
  Addon::Of(env).RegisterClass<NamedSemaphore>(semaphoreClass);
  exports.Set("NamedSemaphore", semaphoreClass);
  exports.Set("openSemaphore", Napi::Function::New<OpenNamedSemaphore>(env, "openSemaphore"));
  exports.Set("unlinkSemaphore", Napi::Function::New<UnlinkSemaphore>(env, "unlinkSemaphore"));
  exports.Set("semValueMax", Napi::Number::New(env, static_cast<double>(kValueMax)));
}

}  // namespace ipckit::win

// The registration file: the one place that decides which platform code is compiled in.
#include <napi.h>

#include "common/addon.h"
#include "common/constants.h"
#include "common/errors.h"
#include "common/mapping.h"

#if defined(__linux__)
#include "posix/named_sem.h"
#include "posix/shm.h"
#include "posix/sync.h"
#include "posix/posix_mq.h"
#include "posix/sysv_mq.h"
#include "posix/sysv_sem.h"
#endif

namespace ipckit {

namespace {

// init(systemError, libraryError): hands the addon the JS functions that build coded errors.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "init(systemError, libraryError) takes two functions").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Addon& addon = Addon::Of(env);
  addon.systemError = Napi::Persistent(info[0].As<Napi::Function>());
  addon.libraryError = Napi::Persistent(info[1].As<Napi::Function>());
  return env.Undefined();
}

}  // namespace

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  auto* addon = new Addon();
  env.SetInstanceData<Addon>(addon);
  // Runs when this environment (the process, or one worker thread) tears down: close every handle
  // that is still open. The registry is shared with the handles, so it outlives this Addon.
  addon->waiters = std::make_shared<WaiterPool>(env);
  addon->mappingSlots = std::make_shared<MappingSlots>();
  std::shared_ptr<HandleRegistry> registry = addon->registry;
  std::shared_ptr<WaiterPool> waiters = addon->waiters;
  env.AddCleanupHook([registry, waiters]() {
    // Threads first: a waiter may be waiting on mapped memory that the handles then unmap.
    waiters->Shutdown();
    registry->ReleaseAll();
  });

  exports.Set("init", Napi::Function::New<Init>(env, "init"));
  ExportConstants(env, exports);
  Napi::Function mapping = MappingHandle::DefineClass(env);
  addon->mappingClass = Napi::Persistent(mapping);
  exports.Set("Mapping", mapping);

#if defined(__linux__)
  exports.Set("platform", Napi::String::New(env, "posix"));
  posix::InitSharedMemory(env, exports);
  posix::InitSysVMessageQueue(env, exports);
  posix::InitSysVSemaphoreSet(env, exports);
  posix::InitNamedSemaphore(env, exports);
  posix::InitPosixMessageQueue(env, exports);
  posix::InitSync(env, exports);
#else
  exports.Set("platform", Napi::String::New(env, "unsupported"));
#endif
  // The platform code has added its groups by now.
  FreezeConstants(exports);
  return exports;
}

}  // namespace ipckit

static Napi::Object RegisterIpckit(Napi::Env env, Napi::Object exports) { return ipckit::Register(env, exports); }

NODE_API_MODULE(ipckit, RegisterIpckit)

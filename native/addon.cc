// The addon's entry point: per-environment state, the error constructors, and the features of
// this platform (native/<platform>/register.cc decides which; binding.gyp picks that file).
#include <napi.h>

#include "common/addon.h"
#include "common/constants.h"
#include "common/errors.h"
#include "common/mapping.h"

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
  addon->RegisterClass<MappingHandle>(mapping);
  exports.Set("Mapping", mapping);

  // Why a wait stopped (common/errors.h StopReason), for lib/waiting.ts.
  Napi::Object reasons = Napi::Object::New(env);
  reasons.Set("timeout", Napi::Number::New(env, static_cast<int>(StopReason::kTimeout)));
  reasons.Set("aborted", Napi::Number::New(env, static_cast<int>(StopReason::kAborted)));
  reasons.Set("closed", Napi::Number::New(env, static_cast<int>(StopReason::kClosed)));
  reasons.Freeze();
  exports.Set("stopReasons", reasons);

  exports.Set("platform", Napi::String::New(env, PlatformName()));
  // features: { name: true } for each primitive this build has.
  Napi::Object features = Napi::Object::New(env);
  for (const Feature& feature : PlatformFeatures()) {
    feature.init(env, exports);
    features.Set(feature.name, Napi::Boolean::New(env, true));
  }
  exports.Set("features", features);
  // The platform code has added its groups by now.
  FreezeConstants(exports);
  return exports;
}

}  // namespace ipckit

static Napi::Object RegisterIpckit(Napi::Env env, Napi::Object exports) { return ipckit::Register(env, exports); }

NODE_API_MODULE(ipckit, RegisterIpckit)

// Per-environment state. Every Node environment (the main thread and each worker thread) gets its
// own Addon through napi instance data; nothing in the addon is static and mutable.
#pragma once

#include <napi.h>

#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/waiter.h"

namespace ipckit {

// Anything that owns an OS resource and must release it when its environment tears down.
class Closeable {
 public:
  virtual ~Closeable() = default;
  // Releases OS resources without calling into JavaScript (the environment may be going away).
  virtual void ReleaseForTeardown() = 0;
};

// The set of open handles of one environment. Handles keep it alive through a shared_ptr, so the
// order in which napi runs finalizers and instance-data cleanup at teardown does not matter.
class HandleRegistry {
 public:
  void Add(Closeable* handle) { open_.insert(handle); }
  void Remove(Closeable* handle) { open_.erase(handle); }
  void ReleaseAll();

 private:
  std::unordered_set<Closeable*> open_;
};

class MappingSlots;  // native/common/mapping.h

struct Addon {
  // Error constructors supplied once by lib/binding.ts, so native code throws the same coded
  // errors the TypeScript layer does.
  Napi::FunctionReference systemError;   // (uvErrno, syscall, path?, osName, osDescription) => Error
  Napi::FunctionReference libraryError;  // (kind, code, message) => Error
  // The constructors of the wrapped classes, by class, for handles created from native code: a
  // new primitive registers its class here (RegisterClass) instead of adding a field.
  template <typename T>
  void RegisterClass(Napi::Function constructor) {
    classes_[&T::kTypeTag] = Napi::Persistent(constructor);
  }
  template <typename T>
  Napi::Object NewInstance(const std::initializer_list<napi_value>& args) {
    return classes_.at(&T::kTypeTag).New(args);
  }
  std::shared_ptr<HandleRegistry> registry = std::make_shared<HandleRegistry>();
  // Mapping handles by a small number, for the per-word calls of native/linux/sync.cc.
  std::shared_ptr<MappingSlots> mappingSlots;
  // Created eagerly in Register(), so its ThreadSafeFunction exists before the cleanup hook that
  // shuts it down is added (hooks run last-added first).
  std::shared_ptr<WaiterPool> waiters;

  static Addon& Of(Napi::Env env) { return *env.GetInstanceData<Addon>(); }

 private:
  std::unordered_map<const napi_type_tag*, Napi::FunctionReference> classes_;
};

// What one platform contributes to the binding. Each feature's init adds its functions and
// classes to the exports; lib/ learns what exists from `binding.features`, never from a list of
// its own.
struct Feature {
  const char* name;  // the key lib/ asks for: binding.features[name]
  void (*init)(Napi::Env env, Napi::Object exports);
};

// Implemented once per platform, in native/<platform>/register.cc (binding.gyp picks the file):
// the only place that decides which primitives a build has.
const char* PlatformName();
std::vector<Feature> PlatformFeatures();

}  // namespace ipckit

// The one shape of a wrapped handle. Handle<T> is what every primitive's ObjectWrap shares: it is
// made only by its open function (an External with the opened OS object, else
// ERR_ILLEGAL_CONSTRUCTOR), carries a type tag that is checked on every unwrap (each method and
// getter defined through Method/Getter checks `this` before touching the C++ object; UnwrapHandle
// checks handles passed as arguments), joins the environment's registry so teardown releases it,
// and reports ERR_IPC_CLOSED after close() and OS failures as Node-style errors naming its object.
// WaitingHandle<T> adds the stop/ref/unref surface over the handle's WaitSet.
#pragma once

#include <napi.h>

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "common/addon.h"
#include "common/errors.h"
#include "common/waiter.h"

namespace ipckit {

// Each wrapped class declares `static constexpr napi_type_tag kTypeTag` and `kKindName`.
template <typename T>
T* UnwrapHandle(const Napi::Value& value, const char* argName) {
  if (value.IsObject()) {
    Napi::Object object = value.As<Napi::Object>();
    if (object.CheckTypeTag(&T::kTypeTag)) return Napi::ObjectWrap<T>::Unwrap(object);
  }
  Throw(LibraryError(value.Env(), ErrorKind::kTypeError, "ERR_INVALID_ARG_TYPE",
      std::string("The \"") + argName + "\" argument must be a native " + T::kKindName + " handle"));
}

template <typename T>
class Handle : public Napi::ObjectWrap<T>, public Closeable {
 public:
  using Property = Napi::ClassPropertyDescriptor<T>;

  // A method on the prototype whose receiver is checked by type tag before it is unwrapped.
  // M is a `Napi::Value (C::*)(const Napi::CallbackInfo&)` of T or of a base of T.
  template <auto M>
  static Property Method(const char* name) {
    return Property(napi_property_descriptor{name, nullptr, &Checked<M>, nullptr, nullptr, nullptr, napi_default, nullptr});
  }
  // A read-only accessor, checked the same way.
  template <auto G>
  static Property Getter(const char* name) {
    return Property(napi_property_descriptor{name, nullptr, nullptr, &Checked<G>, nullptr, nullptr, napi_default, nullptr});
  }

  // The opened object an open function hands the constructor (as an External).
  template <typename Pending>
  static Pending* PendingArg(const Napi::CallbackInfo& info) {
    if (info.Length() != 1 || !info[0].IsExternal()) {
      Throw(LibraryError(info.Env(), ErrorKind::kTypeError, "ERR_ILLEGAL_CONSTRUCTOR",
          std::string("a ") + T::kKindName + " handle is made by its open function"));
    }
    return info[0].As<Napi::External<Pending>>().Data();
  }

  ~Handle() override { registry_->Remove(this); }

  bool closed() const { return closed_; }
  // The object's name, for errors (a path, a POSIX name, a System V key).
  virtual std::string name() const = 0;
  Napi::Error OsFailure(Napi::Env env, int code, const char* syscall) const { return SystemError(env, OsError{code, syscall, name()}); }

 protected:
  explicit Handle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info), registry_(Addon::Of(info.Env()).registry) {
    info.This().As<Napi::Object>().TypeTag(&T::kTypeTag);
    registry_->Add(this);
  }

  void CheckOpen(Napi::Env env) const {
    if (closed_) Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_CLOSED", std::string("The ") + T::kKindName + " is closed"));
  }
  void MarkClosed() { closed_ = true; }

 private:
  template <auto M>
  static napi_value Checked(napi_env env, napi_callback_info callbackInfo) {
    try {
      Napi::CallbackInfo info(env, callbackInfo);
      T* self = UnwrapHandle<T>(info.This(), "this");
      return (self->*M)(info);
    } catch (const Napi::Error& error) {
      error.ThrowAsJavaScriptException();
    } catch (const std::bad_alloc&) {
      Napi::Error::New(env, "out of memory").ThrowAsJavaScriptException();
    }
    return nullptr;
  }

  std::shared_ptr<HandleRegistry> registry_;
  bool closed_ = false;
};

// A handle whose operations wait: stop(opId, reason), ref() and unref() for lib/waiting.ts, over
// the WaitSet the subclass returns from waits(). close() is the subclass's, and must stop every
// pending wait with StopReason::kClosed.
template <typename T>
class WaitingHandle : public Handle<T> {
 public:
  using Property = typename Handle<T>::Property;

  // Adds stop, ref and unref to a class's properties.
  static std::vector<Property> WithWaitMethods(std::vector<Property> properties) {
    properties.push_back(Handle<T>::template Method<&WaitingHandle::StopWait>("stop"));
    properties.push_back(Handle<T>::template Method<&WaitingHandle::RefWaits>("ref"));
    properties.push_back(Handle<T>::template Method<&WaitingHandle::UnrefWaits>("unref"));
    return properties;
  }

 protected:
  using Handle<T>::Handle;
  virtual WaitSet& waits() = 0;

 private:
  Napi::Value StopWait(const Napi::CallbackInfo& info) {
    int reason = info[1].As<Napi::Number>().Int32Value();
    // Only JavaScript's reasons: an unknown number is a closing, never a silent no-op.
    waits().Stop(info[0].As<Napi::Number>().DoubleValue(),
        reason == static_cast<int>(StopReason::kAborted) ? StopReason::kAborted : StopReason::kClosed);
    return info.Env().Undefined();
  }
  Napi::Value RefWaits(const Napi::CallbackInfo& info) {
    waits().SetReferenced(true);
    return info.Env().Undefined();
  }
  Napi::Value UnrefWaits(const Napi::CallbackInfo& info) {
    waits().SetReferenced(false);
    return info.Env().Undefined();
  }
};

}  // namespace ipckit

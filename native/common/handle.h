// Type-tagged unwrapping: a handle of one kind passed where another is expected is a TypeError,
// never undefined behaviour.
#pragma once

#include <napi.h>

#include "common/errors.h"

namespace ipckit {

// Each wrapped class declares `static constexpr napi_type_tag kTypeTag` and `kKindName`.
template <typename T>
T* UnwrapHandle(const Napi::Value& value, const char* argName) {
  if (value.IsObject()) {
    Napi::Object object = value.As<Napi::Object>();
    if (object.CheckTypeTag(&T::kTypeTag)) return Napi::ObjectWrap<T>::Unwrap(object);
  }
  Throw(LibraryError(value.Env(), ErrorKind::kTypeError, "ERR_INVALID_ARG_TYPE",
                     std::string("The \"") + argName + "\" argument must be a native " +
                         T::kKindName + " handle"));
}

}  // namespace ipckit

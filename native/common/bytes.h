#pragma once

#include <napi.h>

#include <cstddef>

namespace ipckit {

// The bytes of a Uint8Array/Buffer argument (lib/ turns every accepted kind of data into one),
// read with a single napi call: this sits on every message's path.
struct ByteSpan {
  const char* data;
  size_t length;
};

inline ByteSpan BytesOf(const Napi::Value& value) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_status status = napi_get_typedarray_info(value.Env(), value, &type, &length, &data, nullptr, nullptr);
  if (status != napi_ok || type != napi_uint8_array) {
    throw Napi::TypeError::New(value.Env(), "expected a Uint8Array");
  }
  return ByteSpan{static_cast<const char*>(data), data == nullptr ? 0 : length};
}

}  // namespace ipckit

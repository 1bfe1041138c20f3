#include "common/errors.h"

#include "common/addon.h"

namespace ipckit {

namespace {

// error.limit: { name, value }, or undefined.
Napi::Value LimitValue(Napi::Env env, const Limit& limit) {
  if (limit.name == nullptr) return env.Undefined();
  Napi::Object value = Napi::Object::New(env);
  value.Set("name", Napi::String::New(env, limit.name));
  value.Set("value", Napi::Number::New(env, limit.value));
  return value;
}

}  // namespace

Napi::Error SystemError(Napi::Env env, const OsError& error) {
  Addon& addon = Addon::Of(env);
  if (addon.systemError.IsEmpty()) {
    // The addon was loaded without lib/binding.ts calling init(): still an Error, never a crash.
    std::string hint = error.limit.hint.empty() ? std::string() : " (" + error.limit.hint + ")";
    return Napi::Error::New(env, std::string(error.syscall) + " failed with OS error " + std::to_string(error.code) + hint);
  }
  Napi::Value path = error.path.empty() ? env.Undefined() : Napi::String::New(env, error.path);
  Napi::Value hint = error.limit.hint.empty() ? env.Undefined() : Napi::String::New(env, error.limit.hint);
  Napi::Value made = addon.systemError.Call({Napi::Number::New(env, ToUvErrno(error.code)), Napi::String::New(env, error.syscall), path,
      Napi::String::New(env, OsErrorName(error.code)), Napi::String::New(env, OsErrorDescription(error.code)), hint,
      LimitValue(env, error.limit), Napi::Number::New(env, error.code)});
  return Napi::Error(env, made);
}

Napi::Error LibraryError(Napi::Env env, ErrorKind kind, const char* code, const std::string& message) {
  return LibraryError(env, kind, code, message, Limit{});
}

Napi::Error LibraryError(Napi::Env env, ErrorKind kind, const char* code, const std::string& message, const Limit& limit) {
  Addon& addon = Addon::Of(env);
  std::string full = limit.hint.empty() ? message : message + " (" + limit.hint + ")";
  if (addon.libraryError.IsEmpty()) return Napi::Error::New(env, std::string(code) + ": " + full);
  Napi::Value made = addon.libraryError.Call(
      {Napi::Number::New(env, static_cast<int>(kind)), Napi::String::New(env, code), Napi::String::New(env, full), LimitValue(env, limit)});
  return Napi::Error(env, made);
}

Napi::Error StopError(Napi::Env env, StopReason reason, const char* operation, const char* object) {
  switch (reason) {
    case StopReason::kTimeout:
      return LibraryError(env, ErrorKind::kError, "ERR_IPC_TIMEOUT", std::string("The ") + operation + " timed out");
    case StopReason::kAborted:
      return LibraryError(env, ErrorKind::kError, "ERR_IPC_ABORTED", std::string("The ") + operation + " was aborted");
    default: return LibraryError(env, ErrorKind::kError, "ERR_IPC_CLOSED", std::string("The ") + object + " was closed");
  }
}

void HandleRegistry::ReleaseAll() {
  // Releasing never re-enters the registry (handles only Remove() from their destructors), but
  // copy first so that stays true if that ever changes.
  std::unordered_set<Closeable*> open;
  open.swap(open_);
  for (Closeable* handle : open) handle->ReleaseForTeardown();
}

}  // namespace ipckit

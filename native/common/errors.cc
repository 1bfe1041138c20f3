#include "common/errors.h"

#include "common/addon.h"

namespace ipckit {

Napi::Error SystemError(Napi::Env env, const OsError& error) {
  Addon& addon = Addon::Of(env);
  if (addon.systemError.IsEmpty()) {
    // The addon was loaded without lib/binding.ts calling init(): still an Error, never a crash.
    return Napi::Error::New(env, std::string(error.syscall) + " failed with OS error " + std::to_string(error.code));
  }
  Napi::Value path = error.path.empty() ? env.Undefined() : Napi::String::New(env, error.path);
  Napi::Value made = addon.systemError.Call({Napi::Number::New(env, ToUvErrno(error.code)),
                                             Napi::String::New(env, error.syscall), path,
                                             Napi::String::New(env, OsErrorName(error.code)),
                                             Napi::String::New(env, OsErrorDescription(error.code))});
  return Napi::Error(env, made);
}

Napi::Error LibraryError(Napi::Env env, ErrorKind kind, const char* code, const std::string& message) {
  Addon& addon = Addon::Of(env);
  if (addon.libraryError.IsEmpty()) return Napi::Error::New(env, std::string(code) + ": " + message);
  Napi::Value made = addon.libraryError.Call({Napi::Number::New(env, static_cast<int>(kind)),
                                              Napi::String::New(env, code),
                                              Napi::String::New(env, message)});
  return Napi::Error(env, made);
}

Napi::Error StopError(Napi::Env env, StopReason reason, const char* operation, const char* object) {
  switch (reason) {
    case StopReason::kTimeout:
      return LibraryError(env, ErrorKind::kError, "ERR_IPC_TIMEOUT", std::string("The ") + operation + " timed out");
    case StopReason::kAborted:
      return LibraryError(env, ErrorKind::kError, "ERR_IPC_ABORTED", std::string("The ") + operation + " was aborted");
    default:
      return LibraryError(env, ErrorKind::kError, "ERR_IPC_CLOSED", std::string("The ") + object + " was closed");
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

// Errors that look like Node's own. The OS error is captured where the call failed (on whatever
// thread) as an OsError, and turned into a JavaScript error later on the JavaScript thread.
#pragma once

#include <napi.h>

#include <string>

namespace ipckit {

// A limit that refused a call (a kernel limit, or ipckit's own), found out where the call failed.
// It reaches JavaScript as `error.limit = { name, value }`, and its hint ends the message in
// parentheses, after the object's name; `error.path` stays the object's name alone.
struct Limit {
  const char* name = nullptr;  // static string, one of common/constants.h's limit::k*; null: none
  double value = 0;            // Infinity when the limit is "unlimited"
  std::string hint;            // says what was asked and how to go further, naming the limit
};

struct OsError {
  int code;             // errno on POSIX, GetLastError() on Windows
  const char* syscall;  // static string naming the failing call
  std::string path;     // the object's name, or empty
  Limit limit = {};     // set when a limit, not a fault, is why the call failed
};

// Captures errno (POSIX) or GetLastError() (Windows) right after a failed call.
OsError LastOsError(const char* syscall, const std::string& path = std::string());

// Translates a platform error code into libuv's negative errno, which Node's error names use.
// Implemented per platform.
int ToUvErrno(int osCode);
// The platform's own name and description of an error code ("EIDRM", "Identifier removed"), for
// the codes libuv has no name for.
std::string OsErrorName(int osCode);
std::string OsErrorDescription(int osCode);

Napi::Error SystemError(Napi::Env env, const OsError& error);

enum class ErrorKind { kError = 0, kTypeError = 1, kRangeError = 2 };
Napi::Error LibraryError(Napi::Env env, ErrorKind kind, const char* code, const std::string& message);
// As above, for a refusal by a limit: the hint ends the message, and the error carries `limit`.
Napi::Error LibraryError(Napi::Env env, ErrorKind kind, const char* code, const std::string& message, const Limit& limit);

// Why a pending wait was stopped before it completed. The values cross into JavaScript as
// `binding.stopReasons` (lib/waiting.ts): abort is requested from there, a timeout is the wait's
// own deadline, closing is close() or teardown.
enum class StopReason : int { kNone = 0, kTimeout = 1, kAborted = 2, kClosed = 3 };

// The error a stopped wait settles with: ERR_IPC_TIMEOUT ("The send timed out"), ERR_IPC_ABORTED
// ("The send was aborted") or ERR_IPC_CLOSED ("The POSIX message queue was closed").
// `operation` and `object` name what waited and on what.
Napi::Error StopError(Napi::Env env, StopReason reason, const char* operation, const char* object);

[[noreturn]] inline void Throw(Napi::Error error) { throw error; }

}  // namespace ipckit

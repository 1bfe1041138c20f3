// Names of Windows kernel objects. ipckit's names are POSIX-style ('/jobs', normalised by
// lib/names.ts); on Windows the object is `Local\jobs`, in the session's namespace, as the
// Win32 functions take it. File mappings, semaphores and events share that namespace.
#pragma once

#include <windows.h>

#include <string>

#include <napi.h>

#include "common/errors.h"

namespace ipckit::win {

// Where every object lives, and the longest name after it (UTF-16 units): Windows limits an
// object's full name to MAX_PATH characters (lib/names.ts reads both from
// binding.constants.windowsNames).
constexpr wchar_t kNamespace[] = L"Local\\";
constexpr size_t kNamespaceLength = sizeof kNamespace / sizeof kNamespace[0] - 1;
constexpr size_t kNameMax = MAX_PATH - kNamespaceLength;

// UTF-8 to UTF-16; invalid UTF-8 becomes U+FFFD as MultiByteToWideChar makes it.
inline std::wstring Widen(const std::string& text) {
  if (text.empty()) return std::wstring();
  int length = MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), nullptr, 0);
  std::wstring wide(length > 0 ? length : 0, L'\0');
  if (length > 0) MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), &wide[0], length);
  return wide;
}

// `Local\jobs` for '/jobs'. lib/ has refused an empty name, a backslash and a name over kNameMax;
// what reaches here is checked again, since a backslash would pick another namespace.
inline bool ObjectName(const std::string& name, std::wstring* out) {
  std::string bare = name.size() > 0 && name[0] == '/' ? name.substr(1) : name;
  if (bare.empty() || bare.find('\\') != std::string::npos || bare.find('\0') != std::string::npos) return false;
  std::wstring wide = Widen(bare);
  if (wide.size() > kNameMax) return false;
  *out = std::wstring(kNamespace) + wide;
  return true;
}

// ObjectName, or ERR_INVALID_ARG_VALUE.
inline std::wstring CheckedObjectName(Napi::Env env, const std::string& name) {
  std::wstring object;
  if (!ObjectName(name, &object)) {
    Throw(LibraryError(env, ErrorKind::kTypeError, "ERR_INVALID_ARG_VALUE",
        "'" + name + "' is not a valid Windows object name (no backslash, at most " + std::to_string(kNameMax) + " characters)"));
  }
  return object;
}

// An owned kernel handle, closed once.
class OwnedHandle {
 public:
  explicit OwnedHandle(HANDLE handle = nullptr) : handle_(handle) {}
  ~OwnedHandle() { Reset(); }
  OwnedHandle(const OwnedHandle&) = delete;
  OwnedHandle& operator=(const OwnedHandle&) = delete;
  HANDLE get() const { return handle_; }
  HANDLE Release() {
    HANDLE handle = handle_;
    handle_ = nullptr;
    return handle;
  }
  void Reset(HANDLE handle = nullptr) {
    if (handle_ != nullptr) CloseHandle(handle_);
    handle_ = handle;
  }

 private:
  HANDLE handle_;
};

// A native ntdll function by name (ntdll is in every process; the functions that have no Win32
// wrapper are looked up, not linked, so a system without one fails the call, not the load).
template <typename F>
F NtdllFunction(const char* name) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll == nullptr ? nullptr : reinterpret_cast<F>(reinterpret_cast<void*>(GetProcAddress(ntdll, name)));
}

// An NTSTATUS as the Win32 code GetLastError() would have given.
inline int NtStatusError(LONG status) {
  using Convert = ULONG(WINAPI*)(LONG);
  static const Convert convert = NtdllFunction<Convert>("RtlNtStatusToDosError");
  return convert == nullptr ? ERROR_GEN_FAILURE : static_cast<int>(convert(status));
}

}  // namespace ipckit::win

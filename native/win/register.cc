// Windows' registration: the one place that decides which primitives a Windows build has. Every
// file in native/win/ uses Win32 only (built with mingw-w64 from Linux, see scripts/win/build.js)
// and keeps the namespace ipckit::win.
#include <windows.h>

#include "common/addon.h"
#include "common/constants.h"
#include "win/channel_events.h"
#include "win/mailslot.h"
#include "win/named_sem.h"
#include "win/names.h"
#include "win/pipe.h"
#include "win/shm.h"

namespace ipckit {

namespace win {

Napi::Value Win32Errors(const Napi::CallbackInfo& info);     // native/win/errors.cc
Napi::Value SystemErrorFor(const Napi::CallbackInfo& info);  // native/win/errors.cc

namespace {

// wineVersion(): Wine's version when the process runs under Wine (ntdll exports
// wine_get_version there, never on Windows), else null. The tests use it to state where Wine is
// known to differ from Windows (../shared/WINDOWS.md), never to skip an assertion.
Napi::Value WineVersion(const Napi::CallbackInfo& info) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  using Getter = const char*(__cdecl*)();
  auto get = ntdll == nullptr ? nullptr : reinterpret_cast<Getter>(reinterpret_cast<void*>(GetProcAddress(ntdll, "wine_get_version")));
  if (get == nullptr) return info.Env().Null();
  return Napi::String::New(info.Env(), get());
}

// processHandleCount(): how many kernel handles this process has open (GetProcessHandleCount),
// for the tests that prove a primitive closes what it opened.
Napi::Value ProcessHandleCount(const Napi::CallbackInfo& info) {
  DWORD count = 0;
  if (!GetProcessHandleCount(GetCurrentProcess(), &count)) Throw(SystemError(info.Env(), LastOsError("GetProcessHandleCount")));
  return Napi::Number::New(info.Env(), count);
}

// namedObjectExists(kind: 'event' | 'semaphore' | 'mapping', name): whether a kernel object of
// that kind and full name (`Local\\x`) is open anywhere. A name goes with the object's last
// handle, so this tells the tests that every handle on an object was closed.
Napi::Value NamedObjectExists(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  std::u16string name16 = info[1].As<Napi::String>().Utf16Value();
  std::wstring name(name16.begin(), name16.end());
  HANDLE handle = nullptr;
  if (kind == "event") {
    handle = OpenEventW(SYNCHRONIZE, FALSE, name.c_str());
    if (handle == nullptr && GetLastError() != ERROR_FILE_NOT_FOUND) Throw(SystemError(env, LastOsError("OpenEventW")));
  } else if (kind == "semaphore") {
    handle = OpenSemaphoreW(SYNCHRONIZE, FALSE, name.c_str());
    if (handle == nullptr && GetLastError() != ERROR_FILE_NOT_FOUND) Throw(SystemError(env, LastOsError("OpenSemaphoreW")));
  } else {
    handle = OpenFileMappingW(FILE_MAP_READ, FALSE, name.c_str());
    if (handle == nullptr && GetLastError() != ERROR_FILE_NOT_FOUND) Throw(SystemError(env, LastOsError("OpenFileMappingW")));
  }
  if (handle != nullptr) CloseHandle(handle);
  return Napi::Boolean::New(env, handle != nullptr);
}

void InitWindows(Napi::Env env, Napi::Object exports) {
  exports.Set("namedObjectExists", Napi::Function::New<NamedObjectExists>(env, "namedObjectExists"));
  exports.Set("processHandleCount", Napi::Function::New<ProcessHandleCount>(env, "processHandleCount"));
  exports.Set("wineVersion", Napi::Function::New<WineVersion>(env, "wineVersion"));
  exports.Set("win32Errors", Napi::Function::New<Win32Errors>(env, "win32Errors"));
  exports.Set("systemErrorFor", Napi::Function::New<SystemErrorFor>(env, "systemErrorFor"));
  // How ipckit's names become Windows object names (win/names.h), for lib/names.ts.
  Napi::Object names = Napi::Object::New(env);
  names.Set("namespace", Napi::String::New(env, "Local\\"));
  names.Set("nameMax", Napi::Number::New(env, static_cast<double>(kNameMax)));
  SetConstantGroup(exports, "windowsNames", names);
}

}  // namespace

}  // namespace win

const char* PlatformName() { return "win32"; }

std::vector<Feature> PlatformFeatures() {
  return {
      {"windows", win::InitWindows},
      {"sharedMemory", win::InitSharedMemory},
      {"namedSemaphore", win::InitNamedSemaphore},
      {"channelEvents", win::InitChannelEvents},
      {"namedPipe", win::InitNamedPipe},
      {"mailslot", win::InitMailslot},
  };
}

}  // namespace ipckit

// Windows' registration: the one place that decides which primitives a Windows build has. Every
// file in native/win/ uses Win32 only (built with mingw-w64 from Linux, see scripts/win/build.js)
// and keeps the namespace ipckit::win.
#include <windows.h>

#include "common/addon.h"
#include "win/mailslot.h"

namespace ipckit {

namespace win {

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

void InitWindows(Napi::Env env, Napi::Object exports) { exports.Set("wineVersion", Napi::Function::New<WineVersion>(env, "wineVersion")); }

}  // namespace

}  // namespace win

const char* PlatformName() { return "win32"; }

std::vector<Feature> PlatformFeatures() {
  return {
      {"windows", win::InitWindows},
      {"mailslot", win::InitMailslot},
  };
}

}  // namespace ipckit

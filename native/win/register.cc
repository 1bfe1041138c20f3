// Windows' registration: the one place that decides which primitives a Windows build has. Every
// file in native/win/ uses Win32 only (built with mingw-w64 from Linux, see scripts/win/build.js)
// and keeps the namespace ipckit::win.
#include "common/addon.h"

namespace ipckit {

const char* PlatformName() { return "win32"; }

std::vector<Feature> PlatformFeatures() {
  return {
  };
}

}  // namespace ipckit

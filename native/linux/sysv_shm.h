#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds openSysVSharedMemory, statSysVSharedMemory, removeSysVSharedMemory and sysvShmLimits to
// the binding's exports.
void InitSysVSharedMemory(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

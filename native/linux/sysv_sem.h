#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds SysVSemaphoreSet (class), openSysVSemaphoreSet and sysvSemLimits to the binding's exports.
void InitSysVSemaphoreSet(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds SysVQueue (class), sysvMsgGet, ftok and sysvMsgLimits to the binding's exports.
void InitSysVMessageQueue(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

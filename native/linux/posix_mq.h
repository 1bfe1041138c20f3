#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds PosixQueue (class), openPosixQueue and unlinkPosixQueue to the binding's exports.
void InitPosixMessageQueue(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

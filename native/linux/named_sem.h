#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds NamedSemaphore (class), openSemaphore, unlinkSemaphore and semValueMax to the binding's
// exports.
void InitNamedSemaphore(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

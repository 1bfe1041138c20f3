#pragma once

#include <napi.h>

namespace ipckit::win {

// Adds NamedSemaphore (class), openSemaphore, unlinkSemaphore and semValueMax (named Windows
// semaphores) to the binding's exports.
void InitNamedSemaphore(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::win

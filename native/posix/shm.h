#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds openSharedMemory, unlinkSharedMemory and openFile to the binding's exports.
void InitSharedMemory(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

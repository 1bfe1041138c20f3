#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds createAnonymousSharedMemory and memfdSeals to the binding's exports.
void InitAnonymousSharedMemory(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

#pragma once

#include <napi.h>

namespace ipckit::win {

// Adds openSharedMemory and unlinkSharedMemory (named file mappings) to the binding's exports.
void InitSharedMemory(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::win

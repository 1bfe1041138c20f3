#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds openSharedMemory and unlinkSharedMemory to the binding's exports.
void InitSharedMemory(Napi::Env env, Napi::Object exports);
// Adds openFile.
void InitMappedFile(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

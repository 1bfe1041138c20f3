#pragma once

#include <napi.h>

#include <string>

namespace ipckit::posix {

// Adds openSharedMemory and unlinkSharedMemory to the binding's exports.
void InitSharedMemory(Napi::Env env, Napi::Object exports);
// Maps all `size` bytes of descriptor `fd` (which it takes over, closing it on failure) as a
// created, writable Mapping named `name`: for objects made by other files (memfd).
Napi::Value WrapDescriptor(Napi::Env env, int fd, const std::string& name, size_t size);
// Adds openFile.
void InitMappedFile(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

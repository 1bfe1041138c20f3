#pragma once

#include <napi.h>

namespace ipckit::win {

// Adds PipeServer and PipeConnection (classes), createPipeServer and newPipeClient to the
// binding's exports.
void InitNamedPipe(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::win

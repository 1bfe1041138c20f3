#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds makeFifo, openFifo and FifoOpener (the writer's wait for a reader) to the binding's exports.
void InitFifo(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

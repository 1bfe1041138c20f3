#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds futex wait/wake and the Mutex, Condition and Barrier calls (on ipckit/sync.h objects in a
// mapping) to the binding's exports.
void InitSync(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

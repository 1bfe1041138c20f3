#pragma once

#include <napi.h>

namespace ipckit::win {

// Adds `channelEvents` (futexWait, futexWaitBrief, futexWaitAsync, futexWake, waitStop, waitRef
// over named events) to the binding's exports.
void InitChannelEvents(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::win

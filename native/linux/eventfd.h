#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds EventFd (class), createEventFd and eventFdFromFd to the binding's exports.
void InitEventFd(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

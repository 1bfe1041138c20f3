#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds UnixSocket and UnixServer (classes) and unixConnect, unixListen, unixPair, unixFromFd to
// the binding's exports.
void InitUnixSocket(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds sendSignal, openSignalReceiver, signalDisposition and signalNumbers to the binding's
// exports.
void InitSignals(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

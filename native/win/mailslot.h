#pragma once

#include <napi.h>

namespace ipckit::win {

// Adds Mailslot and MailslotWriter (classes), createMailslot, openMailslotWriter and sendMailslot
// to the binding's exports.
void InitMailslot(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::win

#pragma once

#include <napi.h>

namespace ipckit::posix {

// Adds what lib/introspect.ts cannot do with Node's fs and /proc: posixQueueStat (mq_open +
// fstat + mq_getattr of a named queue, which works whether or not /dev/mqueue is mounted),
// sysvRemoveId and sysvSemaphoreValues.
void InitIntrospection(Napi::Env env, Napi::Object exports);

}  // namespace ipckit::posix

#include "common/constants.h"

#include <initializer_list>
#include <utility>

namespace ipckit {

namespace {

struct Entry {
  const char* name;
  double value;
};

Napi::Object Group(Napi::Env env, std::initializer_list<Entry> entries) {
  Napi::Object group = Napi::Object::New(env);
  for (const Entry& entry : entries) group.Set(entry.name, Napi::Number::New(env, entry.value));
  return group;
}

Napi::Object Names(Napi::Env env, std::initializer_list<std::pair<const char*, const char*>> entries) {
  Napi::Object group = Napi::Object::New(env);
  for (const auto& entry : entries) group.Set(entry.first, Napi::String::New(env, entry.second));
  return group;
}

}  // namespace

Napi::Object ExportConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object constants = Napi::Object::New(env);
  exports.Set("constants", constants);
  SetConstantGroup(
      exports, "queueFlags", Group(env, {{"CREATE", kQueueCreate}, {"EXCLUSIVE", kQueueExclusive}, {"PRIVATE", kQueuePrivate}}));
  SetConstantGroup(exports, "shmFlags",
      Group(env, {{"CREATE", kShmCreate}, {"EXCLUSIVE", kShmExclusive}, {"READ_ONLY", kShmReadOnly}, {"NO_RESERVE", kShmNoReserve}}));
  SetConstantGroup(exports, "semaphoreFlags", Group(env, {{"CREATE", kSemaphoreCreate}, {"EXCLUSIVE", kSemaphoreExclusive}}));
  SetConstantGroup(exports, "semOpFlags", Group(env, {{"UNDO", kSemOpUndo}, {"NO_WAIT", kSemOpNoWait}}));
  SetConstantGroup(exports, "limits",
      Names(env, {{"msgmni", limit::kMsgmni}, {"msgmax", limit::kMsgmax}, {"msgQbytes", limit::kMsgQbytes}, {"semmsl", limit::kSemmsl},
                     {"semmns", limit::kSemmns}, {"semopm", limit::kSemopm}, {"semmni", limit::kSemmni}, {"mqMsgMax", limit::kMqMsgMax},
                     {"mqMsgsizeMax", limit::kMqMsgsizeMax}, {"mqQueuesMax", limit::kMqQueuesMax}, {"mqMsgsize", limit::kMqMsgsize},
                     {"rlimitMsgqueue", limit::kRlimitMsgqueue}, {"waiterThreads", limit::kWaiterThreads}, {"shmmax", limit::kShmmax},
                     {"shmall", limit::kShmall}, {"shmmni", limit::kShmmni}}));
  return constants;
}

void SetConstantGroup(Napi::Object exports, const char* key, Napi::Object group) {
  // Nested objects (a layout's offsets, say) are frozen by whoever made them; this seals the
  // group itself, so lib/ can hand it out as is.
  group.Freeze();
  exports.Get("constants").As<Napi::Object>().Set(key, group);
}

void FreezeConstants(Napi::Object exports) { exports.Get("constants").As<Napi::Object>().Freeze(); }

}  // namespace ipckit

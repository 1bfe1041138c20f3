// The futex calls lib/channel.ts sleeps and wakes with, on Windows. WaitOnAddress does not cross
// processes, so each bell word of a mapping has a named auto-reset event of its own, made from the
// mapping's name and the word's offset (`Local\jobs#bell196` for the word at byte 196 of '/jobs').
// A wait returns at once (NOT_EQUAL) when the word no longer holds the expected value, as a futex
// would, and otherwise sleeps on the event; a wake sets it. The channel's protocol (a waiting flag
// raised before the word is checked again, then the sleep) makes that lossless: a wake between the
// check and the sleep leaves the event set, so the sleep returns at once. A signal nobody took
// stays set and makes a later wait return early, which the channel's loops tolerate as they do
// any spurious wake. The events belong to the mapping handle (its extension) and are closed with
// it; a pending wait holds its own event until it settles.
#include "win/channel_events.h"

#include <windows.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/addon.h"
#include "common/errors.h"
#include "common/mapping.h"
#include "common/waiter.h"
#include "win/names.h"
#include "win/wait_ms.h"

namespace ipckit::win {

namespace {

// What the calls return, as lib/futex.ts and lib/channel.ts read them.
constexpr int kWoken = 0;
constexpr int kNotEqual = 1;
constexpr int kTimedOut = 2;

using Event = std::shared_ptr<OwnedHandle>;

// The name of the event behind the word at `offset` of the mapping `name`. A name that would not
// fit MAX_PATH (or is not an object name, as a mapped file's path) is replaced by its FNV-1a hash.
std::wstring EventName(const std::string& name, uint32_t offset) {
  std::wstring object;
  std::wstring suffix = L"#bell" + std::to_wstring(offset);
  if (ObjectName(name, &object) && object.size() + suffix.size() <= MAX_PATH - 1) return object + suffix;
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) hash = (hash ^ c) * 0x100000001b3ULL;
  wchar_t hex[17];
  for (int i = 0; i < 16; i++) hex[i] = L"0123456789abcdef"[(hash >> (60 - 4 * i)) & 0xf];
  hex[16] = L'\0';
  return std::wstring(kNamespace) + L"ipckit-" + hex + suffix;
}

struct BellEvents {
  std::unordered_map<uint32_t, Event> byOffset;
};

MappingHandle* MappingArg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t slot = 0;
  if (napi_get_value_uint32(env, info[0], &slot) == napi_ok) {
    if (MappingHandle* mapping = Addon::Of(env).mappingSlots->Find(slot)) return mapping;
  }
  Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_CLOSED", "The shared memory is closed"));
}

// The 32-bit word at `offset` of an open mapping (lib/ checks the same).
int32_t* WordAt(Napi::Env env, MappingHandle* mapping, const Napi::Value& offsetArg, uint32_t* offsetOut) {
  uint8_t* data = mapping->Data(env);
  double offset = offsetArg.As<Napi::Number>().DoubleValue();
  if (!(offset >= 0) || offset + 4 > static_cast<double>(mapping->Size()) || std::fmod(offset, 4) != 0) {
    Throw(LibraryError(
        env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "offset " + std::to_string(offset) + " is misaligned or outside the mapping"));
  }
  *offsetOut = static_cast<uint32_t>(offset);
  return reinterpret_cast<int32_t*>(data + static_cast<size_t>(offset));
}

// The mapping's event for the word at `offset`, created (or opened, if a peer made it) on first use.
Event EventOf(Napi::Env env, MappingHandle* mapping, uint32_t offset) {
  std::shared_ptr<void>& extension = mapping->extension();
  if (!extension) extension = std::make_shared<BellEvents>();
  auto& events = static_cast<BellEvents*>(extension.get())->byOffset;
  auto it = events.find(offset);
  if (it != events.end()) return it->second;
  std::string name = mapping->Name();
  HANDLE handle = CreateEventW(nullptr, FALSE, FALSE, EventName(name, offset).c_str());
  if (handle == nullptr) Throw(SystemError(env, LastOsError("CreateEventW", name)));
  Event event = std::make_shared<OwnedHandle>(handle);
  events.emplace(offset, event);
  return event;
}

int32_t Load(const int32_t* word) { return __atomic_load_n(word, __ATOMIC_SEQ_CST); }

// futexWait(slot, offset, expected, timeoutMs | -1): 0 woken, 1 not equal, 2 timed out. On the
// calling thread, not alertable.
Napi::Value FutexWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingHandle* mapping = MappingArg(info);
  uint32_t offset = 0;
  int32_t* word = WordAt(env, mapping, info[1], &offset);
  int32_t expected = info[2].As<Napi::Number>().Int32Value();
  Deadline deadline = Deadline::After(info[3].As<Napi::Number>().DoubleValue());
  Event event = EventOf(env, mapping, offset);
  if (Load(word) != expected) return Napi::Number::New(env, kNotEqual);
  for (;;) {
    DWORD rc = WaitForSingleObjectEx(event->get(), WaitMs(deadline), FALSE);
    if (rc == WAIT_OBJECT_0) return Napi::Number::New(env, kWoken);
    if (rc == WAIT_TIMEOUT) {
      if (deadline.Passed()) return Napi::Number::New(env, kTimedOut);
      continue;
    }
    Throw(SystemError(env, LastOsError("WaitForSingleObjectEx", mapping->Name())));
  }
}

// futexWaitBrief(slot, offset, expected, micros, slackMicros): as futexWait for `micros`, which
// Windows' waits round down to whole milliseconds (under 1 ms: only a look at the event). The
// slack has no Windows counterpart and is ignored.
Napi::Value FutexWaitBrief(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingHandle* mapping = MappingArg(info);
  uint32_t offset = 0;
  int32_t* word = WordAt(env, mapping, info[1], &offset);
  int32_t expected = info[2].As<Napi::Number>().Int32Value();
  double micros = info[3].As<Napi::Number>().DoubleValue();
  Event event = EventOf(env, mapping, offset);
  if (Load(word) != expected) return Napi::Number::New(env, kNotEqual);
  DWORD ms = micros >= 1000 ? static_cast<DWORD>(std::fmin(micros / 1000, 1000)) : 0;
  DWORD rc = WaitForSingleObjectEx(event->get(), ms, FALSE);
  if (rc == WAIT_OBJECT_0) return Napi::Number::New(env, kWoken);
  if (rc == WAIT_TIMEOUT) return Napi::Number::New(env, kTimedOut);
  Throw(SystemError(env, LastOsError("WaitForSingleObjectEx", mapping->Name())));
}

// futexWake(slot, offset, count): sets the word's event, which wakes its one waiter (one per
// bell in a channel) or the next wait. Returns 0: an event does not tell whether anyone waited.
Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingHandle* mapping = MappingArg(info);
  uint32_t offset = 0;
  WordAt(env, mapping, info[1], &offset);
  Event event = EventOf(env, mapping, offset);
  if (!SetEvent(event->get())) Throw(SystemError(env, LastOsError("SetEvent", mapping->Name())));
  return Napi::Number::New(env, 0);
}

// One wait on a waiter thread: an alertable wait on the event until the deadline, after checking
// the word. Pins the mapping's JS object and is registered with it, so close() stops the wait
// and unmaps only after it has settled.
class EventWaitOp final : public BlockingOp {
 public:
  EventWaitOp(Napi::Env env, MappingHandle* mapping, double opId, Deadline deadline, const int32_t* word, int32_t expected, Event event)
      : BlockingOp(env, deadline),
        mapping_(mapping),
        pin_(Napi::Persistent(mapping->Value())),
        opId_(opId),
        word_(word),
        expected_(expected),
        event_(std::move(event)) {}

  bool KernelDeadline() const override { return true; }

  void Execute() override {
    if (Load(word_) != expected_) {
      result_ = kNotEqual;
      completed_ = true;
      return;
    }
    for (;;) {
      if (StopRequested()) return;
      DWORD rc = WaitForSingleObjectEx(event_->get(), WaitMs(deadline()), TRUE);
      if (rc == WAIT_OBJECT_0) {
        result_ = kWoken;
        completed_ = true;
        return;
      }
      if (rc == WAIT_IO_COMPLETION) continue;
      if (rc == WAIT_TIMEOUT) {
        if (deadline().Passed()) {
          TimedOut();
          return;
        }
        continue;
      }
      error_ = static_cast<int>(GetLastError());
      if (error_ == 0) error_ = ERROR_GEN_FAILURE;
      return;
    }
  }

  void Settle(Napi::Env env) override {
    std::string name = mapping_->Name();
    mapping_->FinishWait(opId_);
    if (completed_) {
      deferred_.Resolve(Napi::Number::New(env, result_));
    } else if (error_ != 0) {
      deferred_.Reject(SystemError(env, OsError{error_, "WaitForSingleObjectEx", name}).Value());
    } else if (stopReason() == StopReason::kTimeout) {
      // As the futex call: running out of time is a result, not an error.
      deferred_.Resolve(Napi::Number::New(env, kTimedOut));
    } else {
      deferred_.Reject(StopError(env, stopReason(), "wait", "shared memory").Value());
    }
  }

 private:
  MappingHandle* mapping_;
  Napi::ObjectReference pin_;
  double opId_;
  const int32_t* word_;
  int32_t expected_;
  Event event_;
  bool completed_ = false;
  int result_ = 0;
  int error_ = 0;
};

// futexWaitAsync(slot, opId, timeoutMs | -1, offset, expected, referenced): Promise<0 | 1 | 2>
Napi::Value FutexWaitAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingHandle* mapping = MappingArg(info);
  double opId = info[1].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[2].As<Napi::Number>().DoubleValue());
  uint32_t offset = 0;
  int32_t* word = WordAt(env, mapping, info[3], &offset);
  int32_t expected = info[4].As<Napi::Number>().Int32Value();
  Event event = EventOf(env, mapping, offset);
  auto op = std::make_unique<EventWaitOp>(env, mapping, opId, deadline, word, expected, std::move(event));
  Napi::Promise promise = op->Promise();
  mapping->StartWait(opId, std::move(op), info[5].As<Napi::Boolean>().Value());
  return promise;
}

// waitStop(slot, opId, reason) / waitRef(slot, opId, referenced), as native/linux/sync.cc's.
Napi::Value WaitStop(const Napi::CallbackInfo& info) {
  MappingHandle* mapping = MappingArg(info);
  int reason = info[2].As<Napi::Number>().Int32Value();
  mapping->waits().Stop(info[1].As<Napi::Number>().DoubleValue(),
      reason == static_cast<int>(StopReason::kAborted) ? StopReason::kAborted : StopReason::kClosed);
  return info.Env().Undefined();
}

Napi::Value WaitRef(const Napi::CallbackInfo& info) {
  MappingHandle* mapping = MappingArg(info);
  mapping->waits().SetReferenced(info[1].As<Napi::Number>().DoubleValue(), info[2].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

}  // namespace

void InitChannelEvents(Napi::Env env, Napi::Object exports) {
  Napi::Object events = Napi::Object::New(env);
  events.Set("futexWait", Napi::Function::New<FutexWait>(env, "futexWait"));
  events.Set("futexWake", Napi::Function::New<FutexWake>(env, "futexWake"));
  events.Set("futexWaitBrief", Napi::Function::New<FutexWaitBrief>(env, "futexWaitBrief"));
  events.Set("futexWaitAsync", Napi::Function::New<FutexWaitAsync>(env, "futexWaitAsync"));
  events.Set("waitStop", Napi::Function::New<WaitStop>(env, "waitStop"));
  events.Set("waitRef", Napi::Function::New<WaitRef>(env, "waitRef"));
  events.Freeze();
  exports.Set("channelEvents", events);
}

}  // namespace ipckit::win

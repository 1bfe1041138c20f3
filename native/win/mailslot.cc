// Windows mailslots: a server handle (CreateMailslotW) that receives whole messages, and writers
// (CreateFileW on the name) that send them.
//
// A mailslot handle is synchronous: CreateMailslotW opens it with FILE_SYNCHRONOUS_IO_NONALERT,
// so ReadFile blocks until a message arrives or the slot's read timeout passes, and an OVERLAPPED
// changes nothing (under Wine 8 such a read blocked just the same). Receives therefore block in
// ReadFile on the addon's waiter threads, never on the event loop or the libuv threadpool. On
// Windows the pool's cancel ends such a read (CancelSynchronousIo); under Wine 8 neither
// CancelSynchronousIo (ERROR_NOT_FOUND) nor CancelIoEx ends it, so every blocking read is bounded
// by the slot's read timeout, set to one slice (kSlice) before each read: a stop is seen within a
// slice wherever the read cannot be cancelled. ipckit keeps the caller's readTimeout as the default
// of receive() (lib/mailslot.ts) and enforces waits itself.
//
// A message is read whole: into a buffer of kWaitBuffer bytes, or of GetMailslotInfo's next size
// when that is larger. A message larger than the buffer of a read that was waiting for it fails
// the read on Windows with ERROR_INSUFFICIENT_BUFFER and stays in the slot, to be read again at
// its size. Wine instead truncates it silently; no message Wine can carry is that large (its
// mailslot is a Unix datagram socket, whose default send buffer is 208 KiB). One read at a time
// runs on a slot (the reader mutex), so the size read is the size of the message taken.
#include "win/mailslot.h"

#include <windows.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/addon.h"
#include "common/bytes.h"
#include "common/errors.h"
#include "common/handle.h"
#include "common/waiter.h"

namespace ipckit::win {

namespace {

// The longest a blocking read lasts before it looks at stop requests and the deadline again (ms).
constexpr DWORD kSlice = 100;
// The buffer of a read that waits for a message not yet written.
constexpr size_t kWaitBuffer = 256 * 1024;
// A read that meets ERROR_INSUFFICIENT_BUFFER with a buffer sized from GetMailslotInfo retries
// at most this often (the next message cannot change under the reader mutex; this only bounds a
// loop the OS should never cause).
constexpr int kSizedReadAttempts = 8;

std::wstring WideName(const Napi::Value& value) {
  std::u16string text = value.As<Napi::String>().Utf16Value();
  return std::wstring(text.begin(), text.end());
}

// Milliseconds left until `deadline`, rounded up, for a Win32 timeout; 0 once it has passed.
DWORD RemainingMs(const Deadline& deadline) {
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline.at() - Deadline::Clock::now()).count();
  if (left <= 0) return 0;
  long long ms = (left + 999) / 1000;
  return static_cast<DWORD>(std::min<long long>(ms, INFINITE - 1));
}

// The server handle and the mutex that lets one read at a time run on it. A pending receive
// shares it with its handle, so close() never closes a handle a waiter thread is reading.
class SlotOwner {
 public:
  SlotOwner(HANDLE slot, HANDLE reader) : slot_(slot), reader_(reader) {}
  ~SlotOwner() {
    CloseHandle(slot_);
    CloseHandle(reader_);
  }
  SlotOwner(const SlotOwner&) = delete;
  SlotOwner& operator=(const SlotOwner&) = delete;
  HANDLE slot() const { return slot_; }
  HANDLE reader() const { return reader_; }

 private:
  HANDLE slot_;
  HANDLE reader_;
};

enum class Read { kMessage, kNone, kFailed };

// Grows `buffer` to hold a message of `size` bytes and at least kWaitBuffer.
void Reserve(std::vector<char>* buffer, size_t size) {
  size_t wanted = std::max(size, kWaitBuffer);
  if (buffer->size() < wanted) buffer->resize(wanted);
}

// With the reader mutex held: reads the next message whole into `buffer` if one is waiting now,
// never blocking (the read timeout is 0 for it, and a message is there); `*length` is its size.
// GetMailslotInfo's next size is exact on Windows; Wine reports at most 65536 (or the slot's
// maxMessageSize) for a larger message, and truncates a read into a buffer of that size, so the
// buffer is never smaller than kWaitBuffer.
Read ReadWaiting(HANDLE slot, const std::string& name, std::vector<char>* buffer, DWORD* length, OsError* error) {
  for (int attempt = 0;; attempt++) {
    DWORD next = 0;
    if (!GetMailslotInfo(slot, nullptr, &next, nullptr, nullptr)) {
      *error = LastOsError("GetMailslotInfo", name);
      return Read::kFailed;
    }
    if (next == MAILSLOT_NO_MESSAGE) return Read::kNone;
    if (!SetMailslotInfo(slot, 0)) {
      *error = LastOsError("SetMailslotInfo", name);
      return Read::kFailed;
    }
    Reserve(buffer, next);
    if (ReadFile(slot, buffer->data(), static_cast<DWORD>(buffer->size()), length, nullptr)) return Read::kMessage;
    DWORD code = GetLastError();
    if (code == ERROR_SEM_TIMEOUT) return Read::kNone;
    if (code == ERROR_INSUFFICIENT_BUFFER && attempt + 1 < kSizedReadAttempts) continue;
    *error = OsError{static_cast<int>(code), "ReadFile", name};
    return Read::kFailed;
  }
}

class Mailslot : public WaitingHandle<Mailslot> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b69744d41ULL, 0x494c534c4f543031ULL};
  static constexpr const char* kKindName = "mailslot";

  struct Pending {
    HANDLE slot;
    HANDLE reader;
    std::string name;
  };

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<Mailslot>::DefineClass(env, "Mailslot",
        WithWaitMethods({
            Method<&Mailslot::Info>("info"),
            Method<&Mailslot::TryReceive>("tryReceive"),
            Method<&Mailslot::Receive>("receive"),
            Method<&Mailslot::Close>("close"),
        }));
  }

  explicit Mailslot(const Napi::CallbackInfo& info) : WaitingHandle<Mailslot>(info) {
    Pending* pending = PendingArg<Pending>(info);
    owner_ = std::make_shared<SlotOwner>(pending->slot, pending->reader);
    pending->slot = INVALID_HANDLE_VALUE;  // owned here from now on
    pending->reader = nullptr;
    name_ = pending->name;
    waits_.Bind(Addon::Of(info.Env()).waiters);
  }

  void ReleaseForTeardown() override {
    // The waiter pool's own teardown stops and frees the operations, and their share of the slot.
    waits_.Clear();
    MarkClosed();
    owner_.reset();
  }

  void Forget(double opId) { waits_.Finish(opId); }
  std::string name() const override { return name_; }

 protected:
  WaitSet& waits() override { return waits_; }

 private:
  // info(): { maxMessageSize, nextSize (-1: no message), messageCount }
  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    DWORD maxSize = 0;
    DWORD next = 0;
    DWORD count = 0;
    if (!GetMailslotInfo(owner_->slot(), &maxSize, &next, &count, nullptr)) Throw(SystemError(env, LastOsError("GetMailslotInfo", name_)));
    Napi::Object result = Napi::Object::New(env);
    result.Set("maxMessageSize", Napi::Number::New(env, static_cast<double>(maxSize)));
    result.Set("nextSize", Napi::Number::New(env, next == MAILSLOT_NO_MESSAGE ? -1 : static_cast<double>(next)));
    result.Set("messageCount", Napi::Number::New(env, static_cast<double>(count)));
    return result;
  }

  // tryReceive(): Buffer | null. Takes the next message if one is waiting and no receive of this
  // handle is reading; never waits.
  Napi::Value TryReceive(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    DWORD taken = WaitForSingleObject(owner_->reader(), 0);
    if (taken != WAIT_OBJECT_0 && taken != WAIT_ABANDONED) {
      if (taken == WAIT_FAILED) Throw(SystemError(env, LastOsError("WaitForSingleObject", name_)));
      return env.Null();  // a pending receive is reading: it goes first
    }
    DWORD length = 0;
    OsError error{0, nullptr, std::string()};
    Read read = ReadWaiting(owner_->slot(), name_, &scratch_, &length, &error);
    ReleaseMutex(owner_->reader());
    if (read == Read::kFailed) Throw(SystemError(env, error));
    if (read == Read::kNone) return env.Null();
    return Napi::Buffer<char>::Copy(env, scratch_.data(), length);
  }

  Napi::Value Receive(const Napi::CallbackInfo& info);

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (closed()) return info.Env().Undefined();
    MarkClosed();
    waits_.StopAll(StopReason::kClosed);
    owner_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<SlotOwner> owner_;
  std::string name_;
  std::vector<char> scratch_;  // tryReceive's buffer (JavaScript thread only)
  PendingWaits waits_;
};

// One receive on a waiter thread. Holds the slot (so its handle stays open while the thread
// reads) and the handle's JS object (so the handle outlives the receive).
class ReceiveOp final : public BlockingOp {
 public:
  ReceiveOp(Napi::Env env, Mailslot* handle, Napi::Object self, double opId, Deadline deadline, std::shared_ptr<SlotOwner> owner)
      : BlockingOp(env, deadline),
        handle_(handle),
        self_(Napi::Persistent(self)),
        opId_(opId),
        owner_(std::move(owner)),
        name_(handle->name()) {}

  // Every wait below is bounded by the deadline, and TimedOut() is called when it passes.
  bool KernelDeadline() const override { return true; }

  void Execute() override {
    if (!AcquireReader()) return;
    ReadOne();
    ReleaseMutex(owner_->reader());
  }

  void Settle(Napi::Env env) override {
    handle_->Forget(opId_);
    if (result_ == Read::kMessage) {
      // Taken as a stop was requested: the message is the caller's, so the receive succeeds.
      deferred_.Resolve(Napi::Buffer<char>::Copy(env, buffer_.data(), length_));
    } else if (result_ == Read::kFailed) {
      deferred_.Reject(SystemError(env, error_).Value());
    } else {
      deferred_.Reject(StopError(env, stopReason(), "receive", "mailslot").Value());
    }
  }

 private:
  // Waits (alertably, so the pool's cancel ends the wait) for the slot's reader mutex.
  bool AcquireReader() {
    for (;;) {
      if (StopRequested()) return false;
      DWORD wait = deadline().never() ? INFINITE : RemainingMs(deadline());
      DWORD status = WaitForSingleObjectEx(owner_->reader(), wait, TRUE);
      if (status == WAIT_OBJECT_0 || status == WAIT_ABANDONED) return true;
      if (status == WAIT_IO_COMPLETION) continue;
      if (status == WAIT_TIMEOUT) {
        if (deadline().Passed()) {
          TimedOut();
          return false;
        }
        continue;
      }
      Fail(LastOsError("WaitForSingleObjectEx", name_));
      return false;
    }
  }

  // With the reader mutex held: the next message, waiting for it in slices.
  void ReadOne() {
    for (;;) {
      // A stop takes nothing: a message waiting now stays for the next receive.
      if (StopRequested()) return;
      result_ = ReadWaiting(owner_->slot(), name_, &buffer_, &length_, &error_);
      if (result_ != Read::kNone) return;
      DWORD slice = kSlice;
      if (!deadline().never()) {
        DWORD left = RemainingMs(deadline());
        if (left == 0) {
          TimedOut();
          return;
        }
        slice = std::min(slice, left);
      }
      if (!SetMailslotInfo(owner_->slot(), slice)) {
        Fail(LastOsError("SetMailslotInfo", name_));
        return;
      }
      Reserve(&buffer_, 0);
      if (ReadFile(owner_->slot(), buffer_.data(), static_cast<DWORD>(buffer_.size()), &length_, nullptr)) {
        result_ = Read::kMessage;
        return;
      }
      DWORD code = GetLastError();
      // The slice passed, the pool cancelled the read (CancelSynchronousIo), or the message is
      // larger than the buffer and stays in the slot: look again.
      if (code == ERROR_SEM_TIMEOUT || code == ERROR_OPERATION_ABORTED || code == ERROR_INSUFFICIENT_BUFFER) continue;
      Fail(OsError{static_cast<int>(code), "ReadFile", name_});
      return;
    }
  }

  void Fail(const OsError& error) {
    error_ = error;
    result_ = Read::kFailed;
  }

  Mailslot* handle_;
  Napi::ObjectReference self_;
  double opId_;
  std::shared_ptr<SlotOwner> owner_;
  std::string name_;
  Read result_ = Read::kNone;
  std::vector<char> buffer_;
  DWORD length_ = 0;
  OsError error_{0, nullptr, std::string()};
};

// receive(opId, timeoutMs | -1): Promise<Buffer>, blocking on a waiter thread. lib/ has already
// tried tryReceive() on this thread.
Napi::Value Mailslot::Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  double opId = info[0].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
  auto op = std::make_unique<ReceiveOp>(env, this, info.This().As<Napi::Object>(), opId, deadline, owner_);
  Napi::Promise promise = op->Promise();
  waits_.Start(opId, std::move(op));
  return promise;
}

// Writes one message; all of it or an error, never part of it reported as sent.
void WriteMessage(Napi::Env env, HANDLE file, const std::string& name, const ByteSpan& bytes) {
  if (bytes.length > MAXDWORD) {
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_MESSAGE_TOO_LARGE",
        "a message of " + std::to_string(bytes.length) + " bytes exceeds the most one WriteFile can write (4294967295 bytes)"));
  }
  // An empty message's bytes may be at NULL (an empty ArrayBuffer has none).
  static const char kNoBytes[1] = {0};
  const char* data = bytes.data == nullptr ? kNoBytes : bytes.data;
  DWORD written = 0;
  if (!WriteFile(file, data, static_cast<DWORD>(bytes.length), &written, nullptr)) Throw(SystemError(env, LastOsError("WriteFile", name)));
  if (written != bytes.length) Throw(SystemError(env, OsError{ERROR_WRITE_FAULT, "WriteFile", name}));
}

// A mailslot is written by whoever opens its name; several writers share it.
HANDLE OpenForWriting(const std::wstring& name) {
  return CreateFileW(
      name.c_str(), GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
}

class MailslotWriter : public Handle<MailslotWriter> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b69744d57ULL, 0x5249544552303031ULL};
  static constexpr const char* kKindName = "mailslot writer";

  struct Pending {
    HANDLE file;
    std::string name;
  };

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<MailslotWriter>::DefineClass(env, "MailslotWriter",
        {
            Method<&MailslotWriter::Send>("send"),
            Method<&MailslotWriter::Close>("close"),
        });
  }

  explicit MailslotWriter(const Napi::CallbackInfo& info) : Handle<MailslotWriter>(info) {
    Pending* pending = PendingArg<Pending>(info);
    file_ = pending->file;
    pending->file = INVALID_HANDLE_VALUE;  // owned here from now on
    name_ = pending->name;
  }

  // The finalizer of a writer never closed: a safety net, as for every handle.
  ~MailslotWriter() override { Release(); }

  void ReleaseForTeardown() override { Release(); }
  std::string name() const override { return name_; }

 private:
  void Release() {
    if (file_ != INVALID_HANDLE_VALUE) CloseHandle(file_);
    file_ = INVALID_HANDLE_VALUE;
    MarkClosed();
  }

  // send(data): one message, written before this returns.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    WriteMessage(env, file_, name_, BytesOf(info[0]));
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  HANDLE file_ = INVALID_HANDLE_VALUE;
  std::string name_;
};

// createMailslot(name, maxMessageSize (0: any size), readTimeoutMs (-1: forever)): Mailslot. The C++
// names end in Fn: windows.h makes CreateMailslot a macro.
Napi::Value CreateMailslotFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::wstring wide = WideName(info[0]);
  DWORD maxSize = info[1].As<Napi::Number>().Uint32Value();
  double timeout = info[2].As<Napi::Number>().DoubleValue();
  DWORD readTimeout = timeout < 0 ? MAILSLOT_WAIT_FOREVER : static_cast<DWORD>(timeout);
  HANDLE slot = CreateMailslotW(wide.c_str(), maxSize, readTimeout, nullptr);
  if (slot == INVALID_HANDLE_VALUE) Throw(SystemError(env, LastOsError("CreateMailslotW", name)));
  HANDLE reader = CreateMutexW(nullptr, FALSE, nullptr);
  if (reader == nullptr) {
    OsError error = LastOsError("CreateMutexW", name);
    CloseHandle(slot);
    Throw(SystemError(env, error));
  }
  Mailslot::Pending pending{slot, reader, name};
  try {
    return Addon::Of(env).NewInstance<Mailslot>({Napi::External<Mailslot::Pending>::New(env, &pending)});
  } catch (...) {
    if (pending.slot != INVALID_HANDLE_VALUE) CloseHandle(pending.slot);
    if (pending.reader != nullptr) CloseHandle(pending.reader);
    throw;
  }
}

// openMailslotWriter(name): MailslotWriter
Napi::Value OpenMailslotWriterFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  HANDLE file = OpenForWriting(WideName(info[0]));
  if (file == INVALID_HANDLE_VALUE) Throw(SystemError(env, LastOsError("CreateFileW", name)));
  MailslotWriter::Pending pending{file, name};
  try {
    return Addon::Of(env).NewInstance<MailslotWriter>({Napi::External<MailslotWriter::Pending>::New(env, &pending)});
  } catch (...) {
    if (pending.file != INVALID_HANDLE_VALUE) CloseHandle(pending.file);
    throw;
  }
}

// sendMailslot(name, data): opens the name, writes one message, closes it.
Napi::Value SendMailslotFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  ByteSpan bytes = BytesOf(info[1]);
  HANDLE file = OpenForWriting(WideName(info[0]));
  if (file == INVALID_HANDLE_VALUE) Throw(SystemError(env, LastOsError("CreateFileW", name)));
  try {
    WriteMessage(env, file, name, bytes);
  } catch (...) {
    CloseHandle(file);
    throw;
  }
  CloseHandle(file);
  return env.Undefined();
}

}  // namespace

void InitMailslot(Napi::Env env, Napi::Object exports) {
  Addon& addon = Addon::Of(env);
  Napi::Function slotClass = Mailslot::DefineClass(env);
  addon.RegisterClass<Mailslot>(slotClass);
  exports.Set("Mailslot", slotClass);
  Napi::Function writerClass = MailslotWriter::DefineClass(env);
  addon.RegisterClass<MailslotWriter>(writerClass);
  exports.Set("MailslotWriter", writerClass);
  exports.Set("createMailslot", Napi::Function::New<CreateMailslotFn>(env, "createMailslot"));
  exports.Set("openMailslotWriter", Napi::Function::New<OpenMailslotWriterFn>(env, "openMailslotWriter"));
  exports.Set("sendMailslot", Napi::Function::New<SendMailslotFn>(env, "sendMailslot"));
}

}  // namespace ipckit::win

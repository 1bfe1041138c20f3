// Windows named pipes. Every handle is opened with FILE_FLAG_OVERLAPPED on both ends; each
// blocking call (accept's ConnectNamedPipe, a client's connect, ReadFile, WriteFile) runs as a
// BlockingOp on a waiter thread (common/waiter.h), never on libuv's threadpool, and waits
// alertably for its OVERLAPPED's event, so a stop (abort, close, deadline) wakes it through the
// pool's APC. A stopped call is cancelled with CancelIoEx and then waited for with
// GetOverlappedResult, so the kernel has let go of the OVERLAPPED and the buffer before the op
// is freed; whatever completed anyway is delivered, never dropped.
//
// A server keeps "spare" instances: pipe instances created and listening but not yet accepted.
// The first is made by create() (with FILE_FLAG_FIRST_PIPE_INSTANCE, so a name another server
// owns is refused); after each connection, accept makes the next one if maxInstances allows, so
// a client arriving between two accept() calls connects at once and waits in the pipe, as with
// a listen backlog. When every instance is in use, CreateNamedPipeW fails with ERROR_PIPE_BUSY
// and accept retries in short slices until one is freed.
#include "win/pipe.h"

#include <windows.h>
// After windows.h:
#include <sddl.h>

#include <algorithm>
#include <chrono>
#include <deque>
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

// How long accept sleeps between attempts while every instance is in use, and how long a
// connect's WaitNamedPipeW slice lasts (that call is not alertable: a stop is seen between
// slices).
constexpr DWORD kBusyRetryMs = 10;
constexpr DWORD kWaitSliceMs = 20;
// The first read of a message; ERROR_MORE_DATA says there is more, PeekNamedPipe how much.
constexpr DWORD kReadChunk = 64 * 1024;

std::wstring Wide(const std::string& utf8) {
  if (utf8.empty()) return std::wstring();
  int length = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring result(length > 0 ? length : 0, L'\0');
  if (length > 0) MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), &result[0], length);
  return result;
}

// A pipe handle shared by its connection and the ops pending on it: closed when the last one
// lets go, so no overlapped call ever runs on a closed (or reused) handle value.
class PipeHandle {
 public:
  explicit PipeHandle(HANDLE handle) : handle_(handle) {}
  ~PipeHandle() { CloseHandle(handle_); }
  PipeHandle(const PipeHandle&) = delete;
  PipeHandle& operator=(const PipeHandle&) = delete;
  HANDLE get() const { return handle_; }

 private:
  HANDLE handle_;
};

// What every instance of one server is created with. Immutable once made, so accept ops create
// instances from it on their waiter threads.
struct ServerConfig {
  std::string name;
  std::wstring wideName;
  DWORD openMode = 0;
  DWORD pipeMode = 0;
  DWORD maxInstances = PIPE_UNLIMITED_INSTANCES;
  DWORD outBufferSize = 0;
  DWORD inBufferSize = 0;
  bool messageMode = false;
  PSECURITY_DESCRIPTOR security = nullptr;  // LocalAlloc'd by ConvertStringSecurityDescriptor...

  ServerConfig() = default;
  ServerConfig(const ServerConfig&) = delete;
  ServerConfig& operator=(const ServerConfig&) = delete;
  ~ServerConfig() {
    if (security != nullptr) LocalFree(security);
  }

  HANDLE CreateInstance(bool first) const {
    SECURITY_ATTRIBUTES attributes{sizeof(SECURITY_ATTRIBUTES), security, FALSE};
    return CreateNamedPipeW(wideName.c_str(), openMode | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0), pipeMode,
        maxInstances, outBufferSize, inBufferSize, 0, security != nullptr ? &attributes : nullptr);
  }
};

// The shape of every pipe op: one OVERLAPPED with its own event, and waits that end at the op's
// deadline (the op keeps it itself: KernelDeadline) or when it is stopped.
class PipeOp : public BlockingOp {
 public:
  PipeOp(Napi::Env env, Deadline deadline) : BlockingOp(env, deadline), event_(CreateEventW(nullptr, TRUE, FALSE, nullptr)) {}
  ~PipeOp() override {
    if (event_ != nullptr) CloseHandle(event_);
  }
  bool KernelDeadline() const override { return true; }

 protected:
  // Milliseconds to the deadline for a Win32 wait, at most `cap` (INFINITE: no cap).
  DWORD WaitMs(DWORD cap) const {
    if (deadline().never()) return cap;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline().at() - Deadline::Clock::now()).count() + 1;
    if (left <= 0) return 0;
    return static_cast<DWORD>(std::min<long long>(left, cap == INFINITE ? 0x7ffffffe : cap));
  }

  // True (having called TimedOut() if it is the deadline) when the op is to stop.
  bool ShouldStop() {
    if (StopRequested()) return true;
    if (deadline().Passed()) {
      TimedOut();
      return true;
    }
    return false;
  }

  // Sleeps up to `ms`, alertably; false when the op is to stop.
  bool Pause(DWORD ms) {
    if (ShouldStop()) return false;
    SleepEx(std::max<DWORD>(1, WaitMs(ms)), TRUE);
    return !ShouldStop();
  }

  // A cleared OVERLAPPED for the next call.
  OVERLAPPED* Fresh() {
    ZeroMemory(&overlapped_, sizeof overlapped_);
    ResetEvent(event_);
    overlapped_.hEvent = event_;
    return &overlapped_;
  }

  // Completes the overlapped call just started on `handle`: `startError` is 0 if the call
  // returned TRUE, else its GetLastError(). Waits for completion; if `stoppable`, a stop or the
  // deadline cancels the call (CancelIoEx) and the kernel is waited for all the same. Returns 0
  // or the call's Win32 error (ERROR_OPERATION_ABORTED when cancelled), with the bytes moved.
  DWORD Complete(HANDLE handle, DWORD startError, DWORD* bytes, bool stoppable = true) {
    *bytes = 0;
    OVERLAPPED* ov = &overlapped_;
    if (startError == 0) {
      GetOverlappedResult(handle, ov, bytes, FALSE);
      return 0;
    }
    if (startError != ERROR_IO_PENDING) {
      // ERROR_MORE_DATA completes the call with part of a message.
      if (startError == ERROR_MORE_DATA) GetOverlappedResult(handle, ov, bytes, FALSE);
      return startError;
    }
    while (stoppable && !ShouldStop()) {
      DWORD wait = WaitForSingleObjectEx(ov->hEvent, WaitMs(INFINITE), TRUE);
      if (wait == WAIT_OBJECT_0 || wait == WAIT_FAILED) break;
      // WAIT_IO_COMPLETION (the pool's cancel APC) or WAIT_TIMEOUT: look again.
    }
    if (WaitForSingleObject(ov->hEvent, 0) != WAIT_OBJECT_0) CancelIoEx(handle, ov);
    if (GetOverlappedResult(handle, ov, bytes, TRUE)) return 0;
    return GetLastError();
  }

  HANDLE event_;
  OVERLAPPED overlapped_{};
};

class PipeServer;

// One end of a connected pipe: an accepted instance (server side) or a client's handle, which a
// client gets from connect().
class PipeConnection : public WaitingHandle<PipeConnection> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b69745069ULL, 0x7065436f6e6e3031ULL};
  static constexpr const char* kKindName = "named pipe";

  struct Pending {
    HANDLE handle;  // INVALID_HANDLE_VALUE: a client not connected yet
    std::string name;
    bool messageMode;
  };

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<PipeConnection>::DefineClass(env, "PipeConnection",
        WithWaitMethods({
            Getter<&PipeConnection::MessageMode>("messageMode"),
            Getter<&PipeConnection::ClientProcessId>("clientProcessId"),
            Getter<&PipeConnection::ServerProcessId>("serverProcessId"),
            Method<&PipeConnection::Connect>("connect"),
            Method<&PipeConnection::Read>("read"),
            Method<&PipeConnection::Receive>("receive"),
            Method<&PipeConnection::Write>("write"),
            Method<&PipeConnection::Close>("close"),
        }));
  }

  explicit PipeConnection(const Napi::CallbackInfo& info) : WaitingHandle<PipeConnection>(info) {
    Pending* pending = PendingArg<Pending>(info);
    if (pending->handle != INVALID_HANDLE_VALUE) pipe_ = std::make_shared<PipeHandle>(pending->handle);
    pending->handle = INVALID_HANDLE_VALUE;  // owned here from now on
    name_ = pending->name;
    messageMode_ = pending->messageMode;
    waits_.Bind(Addon::Of(info.Env()).waiters);
  }

  void ReleaseForTeardown() override {
    // The pool's own teardown frees the ops, and with them their share of the handle.
    waits_.Clear();
    MarkClosed();
    pipe_.reset();
  }

  std::string name() const override { return name_; }
  void Forget(double opId) { waits_.Finish(opId); }
  // A connect op's result: the handle is this connection's from now on (closed at once if the
  // connection was closed meanwhile). False if it was.
  bool Attach(HANDLE handle) {
    if (closed()) {
      CloseHandle(handle);
      return false;
    }
    pipe_ = std::make_shared<PipeHandle>(handle);
    return true;
  }

 protected:
  WaitSet& waits() override { return waits_; }

 private:
  std::shared_ptr<PipeHandle> Connected(Napi::Env env) const {
    CheckOpen(env);
    if (pipe_ == nullptr) Throw(OsFailure(env, ERROR_PIPE_NOT_CONNECTED, "ReadFile"));
    return pipe_;
  }

  Napi::Value MessageMode(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), messageMode_); }

  Napi::Value ClientProcessId(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ULONG pid = 0;
    if (!GetNamedPipeClientProcessId(Connected(env)->get(), &pid)) Throw(OsFailure(env, GetLastError(), "GetNamedPipeClientProcessId"));
    return Napi::Number::New(env, pid);
  }

  Napi::Value ServerProcessId(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ULONG pid = 0;
    if (!GetNamedPipeServerProcessId(Connected(env)->get(), &pid)) Throw(OsFailure(env, GetLastError(), "GetNamedPipeServerProcessId"));
    return Napi::Number::New(env, pid);
  }

  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Receive(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);

  // Stops every pending op (ERR_IPC_CLOSED) and lets go of this connection's share of the
  // handle: it is closed (CloseHandle, not DisconnectNamedPipe, so the peer can still read what
  // was written) once the stopped ops have left their calls.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (closed()) return info.Env().Undefined();
    MarkClosed();
    waits_.StopAll(StopReason::kClosed);
    pipe_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<PipeHandle> pipe_;
  std::string name_;
  bool messageMode_ = false;
  PendingWaits waits_;
};

// An op of a connection: holds the connection's JS object (so the connection outlives it) and
// a share of its handle.
class ConnectionOp : public PipeOp {
 public:
  ConnectionOp(Napi::Env env, PipeConnection* conn, Napi::Object self, double opId, Deadline deadline, std::shared_ptr<PipeHandle> pipe)
      : PipeOp(env, deadline), conn_(conn), self_(Napi::Persistent(self)), opId_(opId), pipe_(std::move(pipe)) {}

 protected:
  Napi::Value Failure(Napi::Env env, const char* syscall) const { return conn_->OsFailure(env, error_, syscall).Value(); }

  PipeConnection* conn_;
  Napi::ObjectReference self_;
  double opId_;
  std::shared_ptr<PipeHandle> pipe_;
  DWORD error_ = 0;
};

// connect(opId, timeoutMs): a client opens the pipe, waiting while every instance is busy.
class ConnectOp final : public ConnectionOp {
 public:
  ConnectOp(Napi::Env env, PipeConnection* conn, Napi::Object self, double opId, Deadline deadline, std::wstring name, bool messageMode)
      : ConnectionOp(env, conn, self, opId, deadline, nullptr), wideName_(std::move(name)), messageMode_(messageMode) {}
  ~ConnectOp() override {
    if (handle_ != INVALID_HANDLE_VALUE) CloseHandle(handle_);
  }

  void Execute() override {
    // The client does not know the server's direction: both ways first, then the one way an
    // inbound (client writes) or outbound (client reads) server allows. The attribute rights
    // are what SetNamedPipeHandleState and the process-id queries need.
    static const DWORD kAccess[] = {
        GENERIC_READ | GENERIC_WRITE, GENERIC_WRITE | FILE_READ_ATTRIBUTES, GENERIC_READ | FILE_WRITE_ATTRIBUTES};
    for (;;) {
      // A timeout of 0 still makes one attempt.
      if (StopRequested()) return;
      DWORD error = 0;
      for (DWORD access : kAccess) {
        // SECURITY_IDENTIFICATION: the server may learn who we are but not act as us.
        handle_ = CreateFileW(wideName_.c_str(), access, 0, nullptr, OPEN_EXISTING,
            FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, nullptr);
        if (handle_ != INVALID_HANDLE_VALUE) break;
        error = GetLastError();
        if (error != ERROR_ACCESS_DENIED) break;
      }
      if (handle_ != INVALID_HANDLE_VALUE) break;
      if (error != ERROR_PIPE_BUSY) {
        Fail(error, Step::kOpen);
        return;
      }
      // Every instance is busy: wait for one to listen. A slice of 0 would mean the server's
      // default wait, hence at least 1.
      if (ShouldStop()) return;
      if (!WaitNamedPipeW(wideName_.c_str(), std::max<DWORD>(1, WaitMs(kWaitSliceMs)))) {
        DWORD waitError = GetLastError();
        // The server went away while we waited.
        if (waitError == ERROR_FILE_NOT_FOUND) {
          Fail(waitError, Step::kWait);
          return;
        }
        // ERROR_SEM_TIMEOUT: the slice passed.
      }
    }
    if (messageMode_) {
      DWORD mode = PIPE_READMODE_MESSAGE;
      if (!SetNamedPipeHandleState(handle_, &mode, nullptr, nullptr)) {
        Fail(GetLastError(), Step::kReadMode);
        CloseHandle(handle_);
        handle_ = INVALID_HANDLE_VALUE;
      }
    }
  }

  void Settle(Napi::Env env) override {
    conn_->Forget(opId_);
    if (handle_ != INVALID_HANDLE_VALUE) {
      HANDLE handle = handle_;
      handle_ = INVALID_HANDLE_VALUE;
      if (conn_->Attach(handle)) {
        deferred_.Resolve(env.Undefined());
      } else {
        deferred_.Reject(StopError(env, StopReason::kClosed, "connect", "named pipe").Value());
      }
    } else if (error_ != 0) {
      switch (step_) {
        case Step::kWait: deferred_.Reject(Failure(env, "WaitNamedPipeW")); break;
        case Step::kReadMode: deferred_.Reject(Failure(env, "SetNamedPipeHandleState")); break;
        default: deferred_.Reject(Failure(env, "CreateFileW")); break;
      }
    } else {
      deferred_.Reject(StopError(env, stopReason(), "connect", "named pipe").Value());
    }
  }

 private:
  // Which call failed (named in Settle, where the error is made).
  enum class Step { kOpen, kWait, kReadMode };
  void Fail(DWORD error, Step step) {
    error_ = error;
    step_ = step;
  }

  std::wstring wideName_;
  bool messageMode_;
  HANDLE handle_ = INVALID_HANDLE_VALUE;
  Step step_ = Step::kOpen;
};

// read(opId, timeoutMs, size): the next bytes of a byte stream (up to `size`), or null at the
// end (the peer closed).
class ReadOp final : public ConnectionOp {
 public:
  ReadOp(
      Napi::Env env, PipeConnection* conn, Napi::Object self, double opId, Deadline deadline, std::shared_ptr<PipeHandle> pipe, size_t size)
      : ConnectionOp(env, conn, self, opId, deadline, std::move(pipe)), data_(size) {}

  void Execute() override {
    HANDLE handle = pipe_->get();
    for (;;) {
      if (StopRequested()) return;
      Fresh();
      DWORD n = 0;
      BOOL ok = ReadFile(handle, data_.data(), static_cast<DWORD>(data_.size()), nullptr, &overlapped_);
      DWORD error = Complete(handle, ok ? 0 : GetLastError(), &n);
      // A zero-byte read (an empty message, read as bytes) carries nothing: read on.
      if ((error == 0 || error == ERROR_MORE_DATA) && n > 0) {
        data_.resize(n);
        got_ = true;
        return;
      }
      if (error == 0 || error == ERROR_MORE_DATA) continue;
      if (error == ERROR_BROKEN_PIPE || error == ERROR_PIPE_NOT_CONNECTED || error == ERROR_NO_DATA) {
        eof_ = true;
        return;
      }
      if (error == ERROR_OPERATION_ABORTED && StopRequested()) return;
      error_ = error;
      return;
    }
  }

  void Settle(Napi::Env env) override {
    conn_->Forget(opId_);
    if (got_) {
      deferred_.Resolve(Napi::Buffer<char>::Copy(env, data_.data(), data_.size()));
    } else if (eof_) {
      deferred_.Resolve(env.Null());
    } else if (error_ != 0) {
      deferred_.Reject(Failure(env, "ReadFile"));
    } else {
      deferred_.Reject(StopError(env, stopReason(), "read", "named pipe").Value());
    }
  }

 private:
  std::vector<char> data_;
  bool got_ = false;
  bool eof_ = false;
};

// receive(opId, timeoutMs): one whole message. A message larger than the read buffer fails the
// read with ERROR_MORE_DATA: PeekNamedPipe says how much of it is left, and the rest is read
// into the same buffer. Only the first read can be stopped; once part of a message is taken,
// the rest is read whatever happens (it is in the pipe already), so no stop ever leaves the
// tail of a message to be taken as the next one. A message the peer did not finish (it died)
// is never delivered: the read fails with EPIPE.
class ReceiveOp final : public ConnectionOp {
 public:
  using ConnectionOp::ConnectionOp;

  void Execute() override {
    HANDLE handle = pipe_->get();
    data_.resize(kReadChunk);
    size_t have = 0;
    for (;;) {
      if (have == 0 && StopRequested()) return;
      Fresh();
      DWORD n = 0;
      BOOL ok = ReadFile(handle, data_.data() + have, static_cast<DWORD>(data_.size() - have), nullptr, &overlapped_);
      DWORD error = Complete(handle, ok ? 0 : GetLastError(), &n, have == 0);
      have += n;
      if (error == 0) {
        data_.resize(have);
        got_ = true;
        return;
      }
      if (error == ERROR_MORE_DATA) {
        DWORD left = 0;
        if (!PeekNamedPipe(handle, nullptr, 0, nullptr, nullptr, &left)) {
          error_ = GetLastError();
          peekFailed_ = true;
          return;
        }
        data_.resize(have + (left > 0 ? left : kReadChunk));
        continue;
      }
      if (error == ERROR_OPERATION_ABORTED && have == 0 && StopRequested()) return;
      error_ = error;
      return;
    }
  }

  void Settle(Napi::Env env) override {
    conn_->Forget(opId_);
    if (got_) {
      deferred_.Resolve(Napi::Buffer<char>::Copy(env, data_.data(), data_.size()));
    } else if (error_ != 0) {
      deferred_.Reject(peekFailed_ ? Failure(env, "PeekNamedPipe") : Failure(env, "ReadFile"));
    } else {
      deferred_.Reject(StopError(env, stopReason(), "receive", "named pipe").Value());
    }
  }

 private:
  std::vector<char> data_;
  bool got_ = false;
  bool peekFailed_ = false;
};

// write(opId, timeoutMs, data): the bytes written whole (a message, in message mode). Resolves
// only when WriteFile says every byte was written; a write that was stopped, failed or wrote
// part rejects, with `bytesWritten` saying how much went (0 if none).
class WriteOp final : public ConnectionOp {
 public:
  WriteOp(Napi::Env env, PipeConnection* conn, Napi::Object self, double opId, Deadline deadline, std::shared_ptr<PipeHandle> pipe,
      ByteSpan bytes)
      : ConnectionOp(env, conn, self, opId, deadline, std::move(pipe)), data_(bytes.data, bytes.data + bytes.length) {}

  void Execute() override {
    if (StopRequested()) return;
    HANDLE handle = pipe_->get();
    Fresh();
    // An empty message's bytes may be at NULL; WriteFile wants a buffer all the same.
    static const char kNoBytes[1] = {0};
    const char* bytes = data_.empty() ? kNoBytes : data_.data();
    BOOL ok = WriteFile(handle, bytes, static_cast<DWORD>(data_.size()), nullptr, &overlapped_);
    DWORD error = Complete(handle, ok ? 0 : GetLastError(), &written_);
    if (error == 0 && written_ == data_.size()) {
      done_ = true;
    } else if (error == 0) {
      error_ = ERROR_WRITE_FAULT;  // short write: reported, never as sent
    } else if (!(error == ERROR_OPERATION_ABORTED && StopRequested())) {
      error_ = error;
    }
  }

  void Settle(Napi::Env env) override {
    conn_->Forget(opId_);
    if (done_) {
      deferred_.Resolve(env.Undefined());
      return;
    }
    Napi::Error error = error_ != 0 ? conn_->OsFailure(env, error_, "WriteFile") : StopError(env, stopReason(), "write", "named pipe");
    error.Set("bytesWritten", Napi::Number::New(env, written_));
    deferred_.Reject(error.Value());
  }

 private:
  std::vector<char> data_;
  DWORD written_ = 0;
  bool done_ = false;
};

Napi::Value PipeConnection::Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (pipe_ != nullptr || !waits_.empty()) Throw(OsFailure(env, ERROR_PIPE_CONNECTED, "CreateFileW"));
  double opId = info[0].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
  auto op = std::make_unique<ConnectOp>(env, this, info.This().As<Napi::Object>(), opId, deadline, Wide(name_), messageMode_);
  Napi::Promise promise = op->Promise();
  waits_.Start(opId, std::move(op));
  return promise;
}

Napi::Value PipeConnection::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<PipeHandle> pipe = Connected(env);
  double opId = info[0].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
  size_t size = static_cast<size_t>(std::max<int64_t>(1, std::min<int64_t>(info[2].As<Napi::Number>().Int64Value(), 1 << 24)));
  auto op = std::make_unique<ReadOp>(env, this, info.This().As<Napi::Object>(), opId, deadline, std::move(pipe), size);
  Napi::Promise promise = op->Promise();
  waits_.Start(opId, std::move(op));
  return promise;
}

Napi::Value PipeConnection::Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<PipeHandle> pipe = Connected(env);
  double opId = info[0].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
  auto op = std::make_unique<ReceiveOp>(env, this, info.This().As<Napi::Object>(), opId, deadline, std::move(pipe));
  Napi::Promise promise = op->Promise();
  waits_.Start(opId, std::move(op));
  return promise;
}

Napi::Value PipeConnection::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<PipeHandle> pipe = Connected(env);
  double opId = info[0].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
  ByteSpan bytes = BytesOf(info[2]);
  auto op = std::make_unique<WriteOp>(env, this, info.This().As<Napi::Object>(), opId, deadline, std::move(pipe), bytes);
  Napi::Promise promise = op->Promise();
  waits_.Start(opId, std::move(op));
  return promise;
}

// A server: its configuration, its spare instances, and its pending accepts.
class PipeServer : public WaitingHandle<PipeServer> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b69745069ULL, 0x7065536572763031ULL};
  static constexpr const char* kKindName = "named pipe server";

  struct Pending {
    std::shared_ptr<const ServerConfig> config;
    HANDLE first;
  };

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<PipeServer>::DefineClass(env, "PipeServer",
        WithWaitMethods({
            Method<&PipeServer::Accept>("accept"),
            Method<&PipeServer::Close>("close"),
        }));
  }

  explicit PipeServer(const Napi::CallbackInfo& info) : WaitingHandle<PipeServer>(info) {
    Pending* pending = PendingArg<Pending>(info);
    config_ = pending->config;
    spares_.push_back(pending->first);
    pending->first = INVALID_HANDLE_VALUE;  // owned here from now on
    waits_.Bind(Addon::Of(info.Env()).waiters);
  }

  ~PipeServer() override { CloseSpares(); }

  void ReleaseForTeardown() override {
    waits_.Clear();
    MarkClosed();
    CloseSpares();
  }

  std::string name() const override { return config_->name; }
  const ServerConfig& config() const { return *config_; }
  void Forget(double opId) { waits_.Finish(opId); }
  // An instance an accept did not use (stopped), or made for the next client: kept listening
  // unless the server is closed. Never closed while the server is open: a client may already
  // be connected to it, waiting to be accepted.
  void Keep(HANDLE instance) {
    if (instance == INVALID_HANDLE_VALUE) return;
    if (closed()) {
      CloseHandle(instance);
    } else {
      spares_.push_back(instance);
    }
  }

 protected:
  WaitSet& waits() override { return waits_; }

 private:
  void CloseSpares() {
    for (HANDLE spare : spares_) CloseHandle(spare);
    spares_.clear();
  }

  Napi::Value Accept(const Napi::CallbackInfo& info);

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (closed()) return info.Env().Undefined();
    MarkClosed();
    waits_.StopAll(StopReason::kClosed);
    CloseSpares();
    return info.Env().Undefined();
  }

  std::shared_ptr<const ServerConfig> config_;
  std::deque<HANDLE> spares_;
  PendingWaits waits_;
};

// accept(opId, timeoutMs): the next client, as a PipeConnection.
class AcceptOp final : public PipeOp {
 public:
  AcceptOp(Napi::Env env, PipeServer* server, Napi::Object self, double opId, Deadline deadline, std::shared_ptr<const ServerConfig> config,
      HANDLE instance)
      : PipeOp(env, deadline),
        server_(server),
        self_(Napi::Persistent(self)),
        opId_(opId),
        config_(std::move(config)),
        instance_(instance) {}
  ~AcceptOp() override {
    if (instance_ != INVALID_HANDLE_VALUE) CloseHandle(instance_);
    if (next_ != INVALID_HANDLE_VALUE) CloseHandle(next_);
  }

  void Execute() override {
    for (;;) {
      while (instance_ == INVALID_HANDLE_VALUE) {
        instance_ = config_->CreateInstance(false);
        if (instance_ != INVALID_HANDLE_VALUE) break;
        DWORD error = GetLastError();
        if (error != ERROR_PIPE_BUSY) {
          Fail(error, true);
          return;
        }
        // Every instance maxInstances allows is in use: wait for one to be closed.
        if (!Pause(kBusyRetryMs)) return;
      }
      if (StopRequested()) return;
      Fresh();
      BOOL ok = ConnectNamedPipe(instance_, &overlapped_);
      DWORD start = ok ? 0 : GetLastError();
      DWORD n = 0;
      // ERROR_PIPE_CONNECTED: a client connected before we asked, and is there.
      DWORD error = start == ERROR_PIPE_CONNECTED ? 0 : Complete(instance_, start, &n);
      if (error == 0) break;
      if (error == ERROR_NO_DATA) {
        // A client connected and closed before we asked: nothing to accept; listen again.
        DisconnectNamedPipe(instance_);
        continue;
      }
      if (error == ERROR_OPERATION_ABORTED && StopRequested()) return;
      Fail(error, false);
      return;
    }
    connected_ = true;
    // The next instance, so the next client connects at once (none if maxInstances is reached).
    next_ = config_->CreateInstance(false);
  }

  void Settle(Napi::Env env) override {
    server_->Forget(opId_);
    server_->Keep(next_);
    next_ = INVALID_HANDLE_VALUE;
    if (connected_) {
      PipeConnection::Pending pending{instance_, config_->name, config_->messageMode};
      instance_ = INVALID_HANDLE_VALUE;
      try {
        deferred_.Resolve(Addon::Of(env).NewInstance<PipeConnection>({Napi::External<PipeConnection::Pending>::New(env, &pending)}));
      } catch (const Napi::Error& error) {
        if (pending.handle != INVALID_HANDLE_VALUE) CloseHandle(pending.handle);
        deferred_.Reject(error.Value());
      }
      return;
    }
    // Not connected: the instance listens on for the next accept.
    server_->Keep(instance_);
    instance_ = INVALID_HANDLE_VALUE;
    if (error_ != 0) {
      Napi::Error error =
          creating_ ? server_->OsFailure(env, error_, "CreateNamedPipeW") : server_->OsFailure(env, error_, "ConnectNamedPipe");
      deferred_.Reject(error.Value());
    } else {
      deferred_.Reject(StopError(env, stopReason(), "accept", "named pipe server").Value());
    }
  }

 private:
  // `creating`: CreateNamedPipeW failed (else ConnectNamedPipe), named in Settle.
  void Fail(DWORD error, bool creating) {
    error_ = error;
    creating_ = creating;
  }

  PipeServer* server_;
  Napi::ObjectReference self_;
  double opId_;
  std::shared_ptr<const ServerConfig> config_;
  HANDLE instance_;
  HANDLE next_ = INVALID_HANDLE_VALUE;
  bool connected_ = false;
  DWORD error_ = 0;
  bool creating_ = false;
};

Napi::Value PipeServer::Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  double opId = info[0].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
  HANDLE instance = INVALID_HANDLE_VALUE;
  if (!spares_.empty()) {
    instance = spares_.front();
    spares_.pop_front();
  }
  std::unique_ptr<AcceptOp> op;
  try {
    op = std::make_unique<AcceptOp>(env, this, info.This().As<Napi::Object>(), opId, deadline, config_, instance);
  } catch (...) {
    Keep(instance);
    throw;
  }
  Napi::Promise promise = op->Promise();
  waits_.Start(opId, std::move(op));
  return promise;
}

DWORD OpenModeOf(const std::string& direction) {
  if (direction == "inbound") return PIPE_ACCESS_INBOUND;
  if (direction == "outbound") return PIPE_ACCESS_OUTBOUND;
  return PIPE_ACCESS_DUPLEX;
}

// createPipeServer(name, direction, messageMode, maxInstances, outBufferSize, inBufferSize,
// rejectRemoteClients, sddl | null): PipeServer, with its first instance listening.
Napi::Value CreatePipeServer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto config = std::make_shared<ServerConfig>();
  config->name = info[0].As<Napi::String>().Utf8Value();
  config->wideName = Wide(config->name);
  config->openMode = OpenModeOf(info[1].As<Napi::String>().Utf8Value());
  config->messageMode = info[2].As<Napi::Boolean>().Value();
  config->maxInstances = info[3].As<Napi::Number>().Uint32Value();
  config->outBufferSize = info[4].As<Napi::Number>().Uint32Value();
  config->inBufferSize = info[5].As<Napi::Number>().Uint32Value();
  bool rejectRemote = info[6].As<Napi::Boolean>().Value();
  config->pipeMode = (config->messageMode ? PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE : PIPE_TYPE_BYTE | PIPE_READMODE_BYTE) | PIPE_WAIT |
                     (rejectRemote ? PIPE_REJECT_REMOTE_CLIENTS : PIPE_ACCEPT_REMOTE_CLIENTS);
  if (info[7].IsString()) {
    std::wstring sddl = Wide(info[7].As<Napi::String>().Utf8Value());
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1, &config->security, nullptr)) {
      config->security = nullptr;
      Throw(SystemError(env, LastOsError("ConvertStringSecurityDescriptorToSecurityDescriptorW", config->name)));
    }
  }
  HANDLE first = config->CreateInstance(true);
  if (first == INVALID_HANDLE_VALUE) Throw(SystemError(env, LastOsError("CreateNamedPipeW", config->name)));
  PipeServer::Pending pending{config, first};
  try {
    return Addon::Of(env).NewInstance<PipeServer>({Napi::External<PipeServer::Pending>::New(env, &pending)});
  } catch (...) {
    if (pending.first != INVALID_HANDLE_VALUE) CloseHandle(pending.first);
    throw;
  }
}

// newPipeClient(name, messageMode): PipeConnection, not connected yet (see its connect()).
Napi::Value NewPipeClient(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PipeConnection::Pending pending{INVALID_HANDLE_VALUE, info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Boolean>().Value()};
  return Addon::Of(env).NewInstance<PipeConnection>({Napi::External<PipeConnection::Pending>::New(env, &pending)});
}

}  // namespace

void InitNamedPipe(Napi::Env env, Napi::Object exports) {
  Napi::Function serverClass = PipeServer::DefineClass(env);
  Napi::Function connectionClass = PipeConnection::DefineClass(env);
  Addon::Of(env).RegisterClass<PipeServer>(serverClass);
  Addon::Of(env).RegisterClass<PipeConnection>(connectionClass);
  exports.Set("PipeServer", serverClass);
  exports.Set("PipeConnection", connectionClass);
  exports.Set("createPipeServer", Napi::Function::New<CreatePipeServer>(env, "createPipeServer"));
  exports.Set("newPipeClient", Napi::Function::New<NewPipeClient>(env, "newPipeClient"));
}

}  // namespace ipckit::win

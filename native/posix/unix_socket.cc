// Unix domain sockets that carry descriptors (SCM_RIGHTS) and tell who the peer is
// (SO_PEERCRED). Node's net.Socket reads its stream itself, and the kernel closes the
// descriptors that ride on bytes read without a control buffer, so descriptor passing needs a
// socket whose every read is a recvmsg: this one. Both ends are non-blocking and wait on the
// event loop (PollWaits); nothing runs on a thread.
#include "posix/unix_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/addon.h"
#include "common/bytes.h"
#include "common/errors.h"
#include "common/handle.h"
#include "posix/poll_waits.h"

namespace ipckit::posix {

namespace {

// The most descriptors one message carries (the kernel's SCM_MAX_FD).
constexpr size_t kMaxFds = 253;
// The most bytes one receive returns.
constexpr size_t kReceiveMax = 65536;

void CloseAll(const std::vector<int>& fds) {
  for (int fd : fds)
    if (fd >= 0) close(fd);
}

// A send's bytes and the duplicates of its descriptors, kept in the op's byte vector:
// [count: u32][fds: int * count][bytes].
std::vector<char> PackSend(const std::vector<int>& fds, const char* data, size_t length) {
  std::vector<char> packed(sizeof(uint32_t) + fds.size() * sizeof(int) + length);
  uint32_t count = static_cast<uint32_t>(fds.size());
  std::memcpy(packed.data(), &count, sizeof count);
  if (!fds.empty()) std::memcpy(packed.data() + sizeof count, fds.data(), fds.size() * sizeof(int));
  if (length > 0) std::memcpy(packed.data() + sizeof count + fds.size() * sizeof(int), data, length);
  return packed;
}

std::vector<int> PackedFds(const std::vector<char>& packed) {
  uint32_t count;
  std::memcpy(&count, packed.data(), sizeof count);
  std::vector<int> fds(count);
  if (count > 0) std::memcpy(fds.data(), packed.data() + sizeof count, count * sizeof(int));
  return fds;
}

class UnixSocketHandle : public WaitingHandle<UnixSocketHandle>, public PollWaits::Client {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b6974556eULL, 0x6978536f636b6574ULL};
  static constexpr const char* kKindName = "Unix socket";

  struct Pending {
    int fd;
    std::string name;
  };

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<UnixSocketHandle>::DefineClass(env, "UnixSocket",
        WithWaitMethods({
            Getter<&UnixSocketHandle::Fd>("fd"),
            Method<&UnixSocketHandle::PeerCredentials>("peerCredentials"),
            Method<&UnixSocketHandle::Send>("send"),
            Method<&UnixSocketHandle::TryReceive>("tryReceive"),
            Method<&UnixSocketHandle::Receive>("receive"),
            Method<&UnixSocketHandle::Shutdown>("shutdown"),
            Method<&UnixSocketHandle::Close>("close"),
        }));
  }

  explicit UnixSocketHandle(const Napi::CallbackInfo& info) : WaitingHandle<UnixSocketHandle>(info), waits_(this, "ipckit:UnixSocket") {
    Pending* pending = PendingArg<Pending>(info);
    fd_ = pending->fd;
    pending->fd = -1;
    name_ = pending->name;
  }
  ~UnixSocketHandle() override { Release(); }
  void ReleaseForTeardown() override { Release(); }
  std::string name() const override { return name_; }

 protected:
  WaitSet& waits() override { return waits_; }

 private:
  void Release() {
    waits_.Release();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    MarkClosed();
  }

  // One sendmsg of `data` with `fds` attached. Returns the bytes sent (all of them, or on a
  // stream socket possibly fewer: the descriptors went with the first of them), or -1 if the
  // socket has no room now. Throws on failure.
  ssize_t SendNow(Napi::Env env, const char* data, size_t length, const std::vector<int>& fds) {
    static const char kNoBytes[1] = {0};
    struct iovec iov = {const_cast<char*>(length > 0 ? data : kNoBytes), length};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<char> control;
    if (!fds.empty()) {
      control.assign(CMSG_SPACE(fds.size() * sizeof(int)), 0);
      msg.msg_control = control.data();
      msg.msg_controllen = control.size();
      struct cmsghdr* header = CMSG_FIRSTHDR(&msg);
      header->cmsg_level = SOL_SOCKET;
      header->cmsg_type = SCM_RIGHTS;
      header->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
      std::memcpy(CMSG_DATA(header), fds.data(), fds.size() * sizeof(int));
    }
    for (;;) {
      ssize_t sent = sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent >= 0) return sent;
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return -1;
      Throw(OsFailure(env, errno, "sendmsg"));
    }
  }

  // One recvmsg: { data, fds } (data empty and fds empty at the end of the stream: null), or an
  // empty value if nothing is waiting. Descriptors arrive close-on-exec; if the kernel had to
  // drop some (MSG_CTRUNC), those that did arrive are closed and the receive fails.
  Napi::Value ReceiveNow(Napi::Env env) {
    std::vector<char> buffer(kReceiveMax);
    std::vector<char> control(CMSG_SPACE(kMaxFds * sizeof(int)));
    struct iovec iov = {buffer.data(), buffer.size()};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    ssize_t got;
    for (;;) {
      got = recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      if (got >= 0) break;
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return Napi::Value();
      Throw(OsFailure(env, errno, "recvmsg"));
    }
    std::vector<int> fds;
    for (struct cmsghdr* header = CMSG_FIRSTHDR(&msg); header != nullptr; header = CMSG_NXTHDR(&msg, header)) {
      if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const unsigned char* at = CMSG_DATA(header);
      for (size_t i = 0; i < count; i++) {
        int fd;
        std::memcpy(&fd, at + i * sizeof(int), sizeof fd);
        fds.push_back(fd);
      }
    }
    if (msg.msg_flags & MSG_CTRUNC) {
      CloseAll(fds);
      Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_FDS_TRUNCATED",
          "a message carried more descriptors than one receive can hold (" + std::to_string(kMaxFds) +
              "): the kernel dropped some, and those that arrived were closed"));
    }
    if (got == 0 && fds.empty()) return env.Null();
    Napi::Object result = Napi::Object::New(env);
    result.Set("data", Napi::Buffer<char>::Copy(env, buffer.data(), static_cast<size_t>(got)));
    Napi::Array list = Napi::Array::New(env, fds.size());
    for (size_t i = 0; i < fds.size(); i++) list.Set(static_cast<uint32_t>(i), Napi::Number::New(env, fds[i]));
    result.Set("fds", list);
    return result;
  }

  // Duplicates of the caller's descriptors: what is sent does not depend on the caller keeping
  // its numbers open (or not reusing them) until a queued send goes out.
  std::vector<int> DupFds(Napi::Env env, const Napi::Value& value) {
    Napi::Array array = value.As<Napi::Array>();
    if (array.Length() > kMaxFds) {
      Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE",
          "at most " + std::to_string(kMaxFds) + " descriptors go in one message (SCM_MAX_FD)"));
    }
    std::vector<int> dups;
    for (uint32_t i = 0; i < array.Length(); i++) {
      int fd = array.Get(i).As<Napi::Number>().Int32Value();
      int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (dup < 0) {
        int code = errno;
        CloseAll(dups);
        Throw(SystemError(env, OsError{code, "fcntl", "fd " + std::to_string(fd)}));
      }
      dups.push_back(dup);
    }
    return dups;
  }

  bool TryNow(Napi::Env env, PollWaits::Op& op) override {
    if (op.direction == PollWaits::kWrite) {
      std::vector<int> fds = PackedFds(op.data);
      size_t offset = sizeof(uint32_t) + fds.size() * sizeof(int);
      // (If this throws, PollWaits discards the op, which closes the duplicates.)
      ssize_t sent = SendNow(env, op.data.data() + offset, op.data.size() - offset, fds);
      if (sent < 0) return false;
      CloseAll(fds);
      if (static_cast<size_t>(sent) < op.data.size() - offset) {
        // The rest of the bytes, without the descriptors (they went with the first part).
        std::vector<char> rest(op.data.begin() + static_cast<long>(offset + static_cast<size_t>(sent)), op.data.end());
        op.data = PackSend({}, rest.data(), rest.size());
        return false;
      }
      op.data.clear();
      op.deferred.Resolve(env.Undefined());
      return true;
    }
    Napi::Value message = ReceiveNow(env);
    if (message.IsEmpty()) return false;
    op.deferred.Resolve(message);
    return true;
  }

  // A send that ends unsent closes the duplicates it kept.
  void Discard(PollWaits::Op& op) override {
    if (op.direction != PollWaits::kWrite || op.data.size() < sizeof(uint32_t)) return;
    CloseAll(PackedFds(op.data));
    op.data.clear();
  }

  Napi::Error Stopped(Napi::Env env, const PollWaits::Op& op, StopReason reason) override {
    return StopError(env, reason, op.direction == PollWaits::kWrite ? "send" : "receive", "Unix socket");
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    return Napi::Number::New(info.Env(), fd_);
  }

  // peerCredentials(): { pid, uid, gid } of the process that connected (or made the pair), as
  // the kernel recorded them then.
  Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    struct ucred credentials = {};
    socklen_t length = sizeof credentials;
    if (getsockopt(fd_, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) Throw(OsFailure(env, errno, "getsockopt"));
    Napi::Object result = Napi::Object::New(env);
    result.Set("pid", Napi::Number::New(env, credentials.pid));
    result.Set("uid", Napi::Number::New(env, credentials.uid));
    result.Set("gid", Napi::Number::New(env, credentials.gid));
    return result;
  }

  // send(opId, timeoutMs | -1, data, fds): Promise<void>, once all of it is sent.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    ByteSpan bytes = BytesOf(info[2]);
    std::vector<int> fds = DupFds(env, info[3]);
    PollWaits::Op op(env);
    op.id = info[0].As<Napi::Number>().DoubleValue();
    op.direction = PollWaits::kWrite;
    op.deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
    op.data = PackSend(fds, bytes.data, bytes.length);
    return waits_.Add(env, Value(), fd_, std::move(op));
  }

  // tryReceive(): { data, fds } | null (end of stream) | undefined (nothing waiting)
  Napi::Value TryReceive(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    Napi::Value message = ReceiveNow(env);
    return message.IsEmpty() ? env.Undefined() : message;
  }

  // receive(opId, timeoutMs | -1): Promise<{ data, fds } | null>
  Napi::Value Receive(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    PollWaits::Op op(env);
    op.id = info[0].As<Napi::Number>().DoubleValue();
    op.direction = PollWaits::kRead;
    op.deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
    return waits_.Add(env, Value(), fd_, std::move(op));
  }

  // shutdown(): no more sends (the peer's receives reach the end of the stream).
  Napi::Value Shutdown(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (shutdown(fd_, SHUT_WR) != 0) Throw(OsFailure(env, errno, "shutdown"));
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed()) return env.Undefined();
    waits_.StopAll(StopReason::kClosed);
    Release();
    return env.Undefined();
  }

  int fd_ = -1;
  std::string name_;
  PollWaits waits_;
};

struct FdGuard {
  int fd = -1;
  ~FdGuard() {
    if (fd >= 0) close(fd);
  }
};

Napi::Object WrapSocket(Napi::Env env, int fd, const std::string& name) {
  UnixSocketHandle::Pending pending{fd, name};
  try {
    return Addon::Of(env).NewInstance<UnixSocketHandle>({Napi::External<UnixSocketHandle::Pending>::New(env, &pending)});
  } catch (...) {
    if (pending.fd >= 0) close(pending.fd);
    throw;
  }
}

int SocketType(const Napi::Value& value) { return value.As<Napi::String>().Utf8Value() == "seqpacket" ? SOCK_SEQPACKET : SOCK_STREAM; }

bool Address(const std::string& path, struct sockaddr_un* address) {
  std::memset(address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  if (path.size() >= sizeof address->sun_path) return false;
  std::memcpy(address->sun_path, path.data(), path.size());
  return true;
}

class UnixServerHandle : public WaitingHandle<UnixServerHandle>, public PollWaits::Client {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b6974556eULL, 0x6978536572766572ULL};
  static constexpr const char* kKindName = "Unix socket server";

  struct Pending {
    int fd;
    std::string path;
    dev_t dev;
    ino_t ino;
  };

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<UnixServerHandle>::DefineClass(env, "UnixServer",
        WithWaitMethods({
            Method<&UnixServerHandle::TryAccept>("tryAccept"),
            Method<&UnixServerHandle::Accept>("accept"),
            Method<&UnixServerHandle::Close>("close"),
        }));
  }

  explicit UnixServerHandle(const Napi::CallbackInfo& info) : WaitingHandle<UnixServerHandle>(info), waits_(this, "ipckit:UnixServer") {
    Pending* pending = PendingArg<Pending>(info);
    fd_ = pending->fd;
    pending->fd = -1;
    path_ = pending->path;
    dev_ = pending->dev;
    ino_ = pending->ino;
  }
  ~UnixServerHandle() override { Release(); }
  void ReleaseForTeardown() override { Release(); }
  std::string name() const override { return path_; }

 protected:
  WaitSet& waits() override { return waits_; }

 private:
  // Closes the listening socket and removes its path, if the path is still this socket's (a
  // later server at the same path is left alone).
  void Release() {
    waits_.Release();
    if (fd_ >= 0) {
      struct stat st;
      if (stat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev_ && st.st_ino == ino_) unlink(path_.c_str());
      close(fd_);
    }
    fd_ = -1;
    MarkClosed();
  }

  Napi::Value AcceptNow(Napi::Env env) {
    for (;;) {
      int fd = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) return WrapSocket(env, fd, path_);
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN) return Napi::Value();
      Throw(OsFailure(env, errno, "accept4"));
    }
  }

  bool TryNow(Napi::Env env, PollWaits::Op& op) override {
    Napi::Value socket = AcceptNow(env);
    if (socket.IsEmpty()) return false;
    op.deferred.Resolve(socket);
    return true;
  }

  Napi::Error Stopped(Napi::Env env, const PollWaits::Op&, StopReason reason) override {
    return StopError(env, reason, "accept", "Unix socket server");
  }

  Napi::Value TryAccept(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    Napi::Value socket = AcceptNow(env);
    return socket.IsEmpty() ? env.Null() : socket;
  }

  // accept(opId, timeoutMs | -1): Promise<UnixSocket>
  Napi::Value Accept(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    PollWaits::Op op(env);
    op.id = info[0].As<Napi::Number>().DoubleValue();
    op.direction = PollWaits::kRead;
    op.deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
    return waits_.Add(env, Value(), fd_, std::move(op));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed()) return env.Undefined();
    waits_.StopAll(StopReason::kClosed);
    Release();
    return env.Undefined();
  }

  int fd_ = -1;
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  PollWaits waits_;
};

// unixConnect(path, type): UnixSocket. A Unix socket connects at once or not at all:
// ECONNREFUSED (nobody listens), ENOENT, EAGAIN (the listener's backlog is full).
Napi::Value UnixConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  struct sockaddr_un address;
  if (!Address(path, &address)) {
    Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE",
        "a Unix socket path is at most " + std::to_string(sizeof address.sun_path - 1) + " bytes"));
  }
  FdGuard guard;
  guard.fd = socket(AF_UNIX, SocketType(info[1]) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (guard.fd < 0) Throw(SystemError(env, LastOsError("socket", path)));
  if (connect(guard.fd, reinterpret_cast<struct sockaddr*>(&address), sizeof address) != 0)
    Throw(SystemError(env, LastOsError("connect", path)));
  int fd = guard.fd;
  guard.fd = -1;
  return WrapSocket(env, fd, path);
}

// unixListen(path, type, backlog, mode): UnixServer. EADDRINUSE if the path exists.
Napi::Value UnixListen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int backlog = info[2].As<Napi::Number>().Int32Value();
  mode_t mode = static_cast<mode_t>(info[3].As<Napi::Number>().Uint32Value() & 0777);
  struct sockaddr_un address;
  if (!Address(path, &address)) {
    Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE",
        "a Unix socket path is at most " + std::to_string(sizeof address.sun_path - 1) + " bytes"));
  }
  FdGuard guard;
  guard.fd = socket(AF_UNIX, SocketType(info[1]) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (guard.fd < 0) Throw(SystemError(env, LastOsError("socket", path)));
  if (bind(guard.fd, reinterpret_cast<struct sockaddr*>(&address), sizeof address) != 0) Throw(SystemError(env, LastOsError("bind", path)));
  // From here on the path is this socket's: it is removed again if listening fails.
  struct stat st;
  OsError error{0, nullptr, path};
  if (stat(path.c_str(), &st) != 0) {
    error = LastOsError("stat", path);
  } else if (chmod(path.c_str(), mode) != 0) {
    error = LastOsError("chmod", path);
  } else if (listen(guard.fd, backlog) != 0) {
    error = LastOsError("listen", path);
  }
  if (error.code != 0) {
    unlink(path.c_str());
    Throw(SystemError(env, error));
  }
  UnixServerHandle::Pending pending{guard.fd, path, st.st_dev, st.st_ino};
  guard.fd = -1;
  try {
    return Addon::Of(env).NewInstance<UnixServerHandle>({Napi::External<UnixServerHandle::Pending>::New(env, &pending)});
  } catch (...) {
    if (pending.fd >= 0) {
      close(pending.fd);
      unlink(path.c_str());
    }
    throw;
  }
}

// unixPair(type): [UnixSocket, UnixSocket], connected to each other (socketpair).
Napi::Value UnixPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (socketpair(AF_UNIX, SocketType(info[0]) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) != 0)
    Throw(SystemError(env, LastOsError("socketpair")));
  FdGuard second;
  second.fd = fds[1];
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, WrapSocket(env, fds[0], "socketpair"));
  second.fd = -1;
  pair.Set(1u, WrapSocket(env, fds[1], "socketpair"));
  return pair;
}

// unixFromFd(fd): UnixSocket over a duplicate of a connected Unix socket `fd` (inherited, say).
Napi::Value UnixFromFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = "fd " + std::to_string(fd);
  int domain = 0;
  socklen_t length = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0) {
    if (errno == ENOTSOCK) {
      Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_INVALID_OBJECT", "descriptor " + std::to_string(fd) + " is not a socket"));
    }
    Throw(SystemError(env, LastOsError("getsockopt", name)));
  }
  if (domain != AF_UNIX) {
    Throw(LibraryError(
        env, ErrorKind::kError, "ERR_IPC_INVALID_OBJECT", "descriptor " + std::to_string(fd) + " is not a Unix domain socket"));
  }
  FdGuard guard;
  guard.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (guard.fd < 0) Throw(SystemError(env, LastOsError("fcntl", name)));
  int flags = fcntl(guard.fd, F_GETFL);
  if (flags < 0 || fcntl(guard.fd, F_SETFL, flags | O_NONBLOCK) != 0) Throw(SystemError(env, LastOsError("fcntl", name)));
  int dup = guard.fd;
  guard.fd = -1;
  return WrapSocket(env, dup, name);
}

}  // namespace

void InitUnixSocket(Napi::Env env, Napi::Object exports) {
  Napi::Function socketClass = UnixSocketHandle::DefineClass(env);
  Addon::Of(env).RegisterClass<UnixSocketHandle>(socketClass);
  exports.Set("UnixSocket", socketClass);
  Napi::Function serverClass = UnixServerHandle::DefineClass(env);
  Addon::Of(env).RegisterClass<UnixServerHandle>(serverClass);
  exports.Set("UnixServer", serverClass);
  exports.Set("unixConnect", Napi::Function::New<UnixConnect>(env, "unixConnect"));
  exports.Set("unixListen", Napi::Function::New<UnixListen>(env, "unixListen"));
  exports.Set("unixPair", Napi::Function::New<UnixPair>(env, "unixPair"));
  exports.Set("unixFromFd", Napi::Function::New<UnixFromFd>(env, "unixFromFd"));
}

}  // namespace ipckit::posix

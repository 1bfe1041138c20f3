// POSIX shared memory (shm_open) and memory-mapped regular files.
#include "posix/shm.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <string>

#include "common/constants.h"
#include "common/errors.h"
#include "common/mapping.h"

namespace ipckit::posix {

namespace {

// Flags of openSharedMemory (binding.constants.shmFlags).
constexpr uint32_t kCreate = kShmCreate;
constexpr uint32_t kExclusive = kShmExclusive;
constexpr uint32_t kReadOnly = kShmReadOnly;
constexpr uint32_t kNoReserve = kShmNoReserve;

class PosixMapped final : public Mapped {
 public:
  PosixMapped(int fd, std::string name) : fd_(fd) { name_ = std::move(name); }
  ~PosixMapped() override {
    Unmap();
    CloseObject();
  }

  // Maps `size` bytes of the descriptor. A read-only handle gets a private mapping that is still
  // writable: the pages show what other processes write until this process writes to one, and a
  // stray write from JavaScript lands in a private copy instead of faulting on a PROT_READ page.
  void MapView(size_t size, bool readOnly) {
    if (size == 0) return;
    void* address = mmap(nullptr, size, PROT_READ | PROT_WRITE, readOnly ? MAP_PRIVATE : MAP_SHARED, fd_, 0);
    if (address == MAP_FAILED) throw LastOsError("mmap", name_);
    data_ = static_cast<uint8_t*>(address);
    size_ = size;
  }

  int Descriptor() const override { return fd_; }

  void Flush() override {
    if (data_ == nullptr) return;
    if (msync(data_, size_, MS_SYNC) != 0) throw LastOsError("msync", name_);
  }

  MappingStat Stat() override {
    struct stat st;
    if (fstat(fd_, &st) != 0) throw LastOsError("fstat", name_);
    return MappingStat{static_cast<double>(st.st_size), static_cast<uint32_t>(st.st_mode), static_cast<uint32_t>(st.st_uid),
        static_cast<uint32_t>(st.st_gid)};
  }

  void CloseObject() noexcept override {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  void Unmap() noexcept override {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = nullptr;
    size_ = 0;
  }

 private:
  int fd_;
};

// Everything that can fail between opening a descriptor and wrapping it: on failure the
// descriptor is closed, and a name this call created is unlinked again.
struct OpenGuard {
  int fd = -1;
  std::string unlinkOnFailure;
  bool isFile = false;  // unlinkOnFailure is a path (unlink), not a shm_open name
  ~OpenGuard() {
    if (fd >= 0) close(fd);
    if (!unlinkOnFailure.empty()) (isFile ? unlink : shm_unlink)(unlinkOnFailure.c_str());
  }
  int Release() {
    int released = fd;
    fd = -1;
    unlinkOnFailure.clear();
    return released;
  }
};

[[noreturn]] void ThrowOs(Napi::Env env, const OsError& error) { Throw(SystemError(env, error)); }

bool ToSize(double value, size_t* out) {
  if (!(value >= 0) || value > static_cast<double>(std::numeric_limits<off_t>::max())) return false;
  *out = static_cast<size_t>(value);
  return true;
}

// Reserves (or just sets) the size of an object this process created.
void SizeNewObject(Napi::Env env, int fd, size_t size, bool reserve, const std::string& name) {
  if (reserve) {
    int rc;
    // posix_fallocate returns the error instead of setting errno; a signal can interrupt it.
    do {
      rc = posix_fallocate(fd, 0, static_cast<off_t>(size));
    } while (rc == EINTR);
    if (rc != 0) ThrowOs(env, OsError{rc, "posix_fallocate", name});
  } else if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    ThrowOs(env, LastOsError("ftruncate", name));
  }
}

Napi::Value Wrap(Napi::Env env, OpenGuard& guard, size_t mapSize, const std::string& name, bool created, bool readOnly) {
  auto mapped = std::make_shared<PosixMapped>(guard.fd, name);
  guard.fd = -1;  // owned by `mapped` from here on
  try {
    mapped->MapView(mapSize, readOnly);
  } catch (const OsError& error) {
    mapped.reset();  // closes the descriptor; the guard still unlinks a name it created
    ThrowOs(env, error);
  }
  guard.Release();
  return MappingHandle::Wrap(env, std::move(mapped), created, readOnly);
}

size_t SizeOf(Napi::Env env, int fd, const std::string& name) {
  struct stat st;
  if (fstat(fd, &st) != 0) ThrowOs(env, LastOsError("fstat", name));
  if (!S_ISREG(st.st_mode)) {
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_INVALID_OBJECT",
        "'" + name + "' is not a shared memory object (not a regular file in /dev/shm) and cannot be mapped"));
  }
  return static_cast<size_t>(st.st_size);
}

// openSharedMemory(name: string, flags: number, mode: number, size: number): Mapping
// `name` is already normalised (leading slash, validated) by lib/names.ts.
Napi::Value OpenSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  uint32_t flags = info[1].As<Napi::Number>().Uint32Value();
  mode_t mode = static_cast<mode_t>(info[2].As<Napi::Number>().Uint32Value());
  size_t size = 0;
  if (!ToSize(info[3].As<Napi::Number>().DoubleValue(), &size)) {
    Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "size is out of range"));
  }
  bool readOnly = (flags & kReadOnly) != 0;
  // O_NONBLOCK: a FIFO planted at the name (any local user can make one in /dev/shm) must not
  // block the event loop in open(); what is not a regular file is refused below.
  int access = (readOnly ? O_RDONLY : O_RDWR) | O_NONBLOCK;

  OpenGuard guard;
  bool created = false;
  if (flags & kCreate) {
    // openOrCreate: try to create; if the name exists, open it; if it vanished in between, retry.
    for (int attempt = 0; attempt < 8 && guard.fd < 0; attempt++) {
      guard.fd = shm_open(name.c_str(), access | O_CREAT | O_EXCL, mode);
      if (guard.fd >= 0) {
        created = true;
        break;
      }
      if (errno != EEXIST || (flags & kExclusive)) ThrowOs(env, LastOsError("shm_open", name));
      guard.fd = shm_open(name.c_str(), access, 0);
      if (guard.fd < 0 && errno != ENOENT) ThrowOs(env, LastOsError("shm_open", name));
    }
    if (guard.fd < 0) ThrowOs(env, OsError{EAGAIN, "shm_open", name});
  } else {
    guard.fd = shm_open(name.c_str(), access, 0);
    if (guard.fd < 0) ThrowOs(env, LastOsError("shm_open", name));
  }

  size_t mapSize;
  if (created) {
    guard.unlinkOnFailure = name;
    // shm_open's mode is filtered by the umask; the caller asked for exactly `mode`.
    if (fchmod(guard.fd, mode) != 0) ThrowOs(env, LastOsError("fchmod", name));
    SizeNewObject(env, guard.fd, size, (flags & kNoReserve) == 0, name);
    mapSize = size;
  } else {
    mapSize = SizeOf(env, guard.fd, name);
  }
  return Wrap(env, guard, mapSize, name, created, readOnly);
}

// unlinkSharedMemory(name: string): void
Napi::Value UnlinkSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (shm_unlink(name.c_str()) != 0) ThrowOs(env, LastOsError("shm_unlink", name));
  return env.Undefined();
}

// openFile(path: string, readOnly: boolean, size: number (-1: the file's size), create: boolean,
//          mode: number, reserve: boolean, exclusive?: boolean): Mapping
// `exclusive` (MappedFile.create): the file must not exist (O_CREAT | O_EXCL). The handle then
// says `created`, and a file this call created is removed again if sizing or mapping it fails.
// The descriptor is writable even for a read-only mapping, since the new file must be sized.
Napi::Value OpenFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  bool readOnly = info[1].As<Napi::Boolean>().Value();
  double requested = info[2].As<Napi::Number>().DoubleValue();
  bool create = info[3].As<Napi::Boolean>().Value();
  mode_t mode = static_cast<mode_t>(info[4].As<Napi::Number>().Uint32Value());
  bool reserve = info[5].As<Napi::Boolean>().Value();
  bool exclusive = info.Length() > 6 && info[6].As<Napi::Boolean>().Value();

  // O_NONBLOCK so that a FIFO at `path` cannot block the event loop in open().
  int oflag = (readOnly && !exclusive ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | (exclusive ? O_CREAT | O_EXCL : create ? O_CREAT : 0);
  OpenGuard guard;
  guard.fd = open(path.c_str(), oflag, mode);
  if (guard.fd < 0) ThrowOs(env, LastOsError("open", path));
  if (exclusive) {
    guard.unlinkOnFailure = path;
    guard.isFile = true;
  }
  struct stat st;
  if (fstat(guard.fd, &st) != 0) ThrowOs(env, LastOsError("fstat", path));
  if (!S_ISREG(st.st_mode)) {
    Throw(LibraryError(env, ErrorKind::kTypeError, "ERR_INVALID_ARG_VALUE", "'" + path + "' is not a regular file and cannot be mapped"));
  }
  size_t fileSize = static_cast<size_t>(st.st_size);
  size_t mapSize = fileSize;
  if (requested >= 0) {
    if (!ToSize(requested, &mapSize)) {
      Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "size is out of range"));
    }
    if (mapSize > fileSize) {
      if (readOnly && !exclusive) {
        // Pages past the end of the file would raise SIGBUS when touched.
        Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE",
            "'" + path + "' is " + std::to_string(fileSize) + " bytes; a read-only mapping of " + std::to_string(mapSize) +
                " bytes would reach past its end"));
      }
      if (reserve) {
        int rc;
        do {
          rc = posix_fallocate(guard.fd, static_cast<off_t>(fileSize), static_cast<off_t>(mapSize - fileSize));
        } while (rc == EINTR);
        if (rc != 0) ThrowOs(env, OsError{rc, "posix_fallocate", path});
      } else if (ftruncate(guard.fd, static_cast<off_t>(mapSize)) != 0) {
        ThrowOs(env, LastOsError("ftruncate", path));
      }
    }
  }
  return Wrap(env, guard, mapSize, path, exclusive, readOnly);
}

// openSharedMemoryFd(fd, readOnly): Mapping of a duplicate of `fd` (the caller keeps its own):
// a memfd or shared memory object another process passed, at the size fstat says.
Napi::Value OpenSharedMemoryFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool readOnly = info[1].As<Napi::Boolean>().Value();
  std::string name = "fd " + std::to_string(fd);
  OpenGuard guard;
  guard.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (guard.fd < 0) ThrowOs(env, LastOsError("fcntl", name));
  size_t size = SizeOf(env, guard.fd, name);
  int flags = fcntl(guard.fd, F_GETFL);
  if (flags < 0) ThrowOs(env, LastOsError("fcntl", name));
  if (!readOnly && (flags & O_ACCMODE) == O_RDONLY) {
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_READ_ONLY",
        "descriptor " + std::to_string(fd) + " was opened read-only: map it with { readOnly: true }"));
  }
  return Wrap(env, guard, size, name, false, readOnly);
}

}  // namespace

Napi::Value WrapDescriptor(Napi::Env env, int fd, const std::string& name, size_t size) {
  OpenGuard guard;
  guard.fd = fd;
  return Wrap(env, guard, size, name, true, false);
}

void InitSharedMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("openSharedMemory", Napi::Function::New<OpenSharedMemory>(env, "openSharedMemory"));
  exports.Set("unlinkSharedMemory", Napi::Function::New<UnlinkSharedMemory>(env, "unlinkSharedMemory"));
  exports.Set("openSharedMemoryFd", Napi::Function::New<OpenSharedMemoryFd>(env, "openSharedMemoryFd"));
}

void InitMappedFile(Napi::Env env, Napi::Object exports) { exports.Set("openFile", Napi::Function::New<OpenFile>(env, "openFile")); }

}  // namespace ipckit::posix

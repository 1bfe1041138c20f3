// Anonymous shared memory: memfd_create. The object has no name anyone can open; processes
// share it by inheriting or passing its descriptor. Seals (F_ADD_SEALS) make promises a peer
// cannot take back, above all that the object will not shrink under a mapping (a peer's
// ftruncate would turn every access past the new end into SIGBUS).
#include "linux/memfd.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "common/errors.h"
#include "posix/shm.h"

namespace ipckit::posix {

namespace {

// createAnonymousSharedMemory(name, size, seals (F_SEAL_* bits), reserve): Mapping
Napi::Value CreateAnonymousSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  size_t size = static_cast<size_t>(info[1].As<Napi::Number>().DoubleValue());
  int seals = info[2].As<Napi::Number>().Int32Value();
  bool reserve = info[3].As<Napi::Boolean>().Value();
  std::string shown = "memfd:" + name;
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) Throw(SystemError(env, LastOsError("memfd_create", shown)));
  auto fail = [&](const char* syscall, int code) {
    close(fd);
    Throw(SystemError(env, OsError{code, syscall, shown}));
  };
  if (reserve) {
    int rc;
    do {
      rc = posix_fallocate(fd, 0, static_cast<off_t>(size));
    } while (rc == EINTR);
    if (rc != 0) fail("posix_fallocate", rc);
  } else if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    fail("ftruncate", errno);
  }
  if (seals != 0 && fcntl(fd, F_ADD_SEALS, seals) != 0) fail("fcntl", errno);
  return WrapDescriptor(env, fd, shown, size);
}

// memfdSeals(fd): the F_SEAL_* bits of the object (F_GET_SEALS); 0 for no seals, and -1 for an
// object that cannot be sealed at all (not a memfd, or made without MFD_ALLOW_SEALING... which
// reports F_SEAL_SEAL).
Napi::Value MemfdSeals(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0) {
    if (errno == EINVAL) return Napi::Number::New(env, -1);
    Throw(SystemError(env, LastOsError("fcntl", "fd " + std::to_string(fd))));
  }
  return Napi::Number::New(env, seals);
}

}  // namespace

void InitAnonymousSharedMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("createAnonymousSharedMemory", Napi::Function::New<CreateAnonymousSharedMemory>(env, "createAnonymousSharedMemory"));
  exports.Set("memfdSeals", Napi::Function::New<MemfdSeals>(env, "memfdSeals"));
  Napi::Object bits = Napi::Object::New(env);
  bits.Set("shrink", Napi::Number::New(env, F_SEAL_SHRINK));
  bits.Set("grow", Napi::Number::New(env, F_SEAL_GROW));
  bits.Set("write", Napi::Number::New(env, F_SEAL_WRITE));
  bits.Set("seal", Napi::Number::New(env, F_SEAL_SEAL));
  bits.Freeze();
  exports.Set("sealBits", bits);
}

}  // namespace ipckit::posix

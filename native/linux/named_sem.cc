// POSIX named semaphores (the objects of sem_open and friends). Posts and non-waiting takes run on
// the JavaScript thread; async waits block in sem_wait on the addon's own waiter threads; waitSync
// blocks the calling thread in sem_clockwait against the monotonic clock.
//
// The semaphore files are opened and mapped here rather than by glibc's sem_open, which maps
// sizeof(sem_t) of whatever file sits at the name without checking its size: anyone can plant an
// empty /dev/shm/sem.NAME, and the first post through such a mapping raises SIGBUS. The file
// layout is glibc's own (a sem_t at offset 0, made by sem_init with pshared set), so C's sem_open
// and ipckit open each other's semaphores.
#include "linux/named_sem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/addon.h"
#include "common/constants.h"
#include "common/errors.h"
#include "common/handle.h"
#include "common/waiter.h"

namespace ipckit::posix {

namespace {

constexpr uint32_t kCreate = kSemaphoreCreate;
constexpr uint32_t kExclusive = kSemaphoreExclusive;

// Where glibc keeps named semaphores: sem_open("/jobs") is the file /dev/shm/sem.jobs. The prefix
// is part of the file's name, so it leaves a name NAME_MAX less its length (lib/ reads both from
// binding.constants.posixNames).
constexpr char kSemaphoreFilePrefix[] = "sem.";
constexpr size_t kSemaphoreNameMax = NAME_MAX - (sizeof kSemaphoreFilePrefix - 1);
std::string SemaphorePath(const std::string& name) { return "/dev/shm/" + std::string(kSemaphoreFilePrefix) + name.substr(1); }

// One mapping of a semaphore file. munmap must not run while a waiter thread is still inside
// sem_wait on it: the handle and every pending wait share this owner, and the last one to let go
// unmaps it.
class SemOwner {
 public:
  explicit SemOwner(sem_t* sem) : sem_(sem) {}
  ~SemOwner() { munmap(sem_, sizeof(sem_t)); }
  SemOwner(const SemOwner&) = delete;
  SemOwner& operator=(const SemOwner&) = delete;
  sem_t* get() const { return sem_; }

 private:
  sem_t* sem_;
};

// What opening or creating a name came to: a mapped semaphore, an OS error, or a file at the name
// that is not a semaphore.
struct Opened {
  sem_t* sem = nullptr;
  int error = 0;        // errno, when sem is null and `invalid` is empty
  std::string invalid;  // why the file is not a semaphore, when sem is null and error is 0
};

Opened Failed(int error) {
  Opened result;
  result.error = error;
  return result;
}

Opened Invalid(const std::string& path, const std::string& why) {
  Opened result;
  result.invalid = path + " " + why;
  return result;
}

const char* FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

sem_t* MapSemaphore(int fd) {
  void* mapped = mmap(nullptr, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return mapped == MAP_FAILED ? nullptr : static_cast<sem_t*>(mapped);
}

// Opens the semaphore file of an existing name and maps its sem_t, refusing anything that is not
// a regular file of at least sizeof(sem_t) bytes (as much as can be checked: a semaphore has no
// magic number).
Opened OpenExisting(const std::string& name) {
  const std::string path = SemaphorePath(name);
  // O_NOFOLLOW as glibc's sem_open: a link planted at the name never redirects us. O_NONBLOCK and
  // O_NOCTTY so that a FIFO or device planted there cannot block us or become our terminal
  // before fstat says what it is.
  int fd = open(path.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP) return Invalid(path, "is a symbolic link (never followed)");
    if (errno == EISDIR) return Invalid(path, "is a directory");
    return Failed(errno);
  }
  struct stat st;
  Opened result;
  if (fstat(fd, &st) != 0) {
    result = Failed(errno);
  } else if (!S_ISREG(st.st_mode)) {
    result = Invalid(path, std::string("is ") + FileKind(st.st_mode));
  } else if (st.st_size < static_cast<off_t>(sizeof(sem_t))) {
    result = Invalid(
        path, "holds " + std::to_string(st.st_size) + " bytes, and a semaphore (sizeof(sem_t)) takes " + std::to_string(sizeof(sem_t)));
  } else {
    // A file made by ftruncate has no page behind its bytes yet, and on a full /dev/shm the
    // first touch of the mapping would raise SIGBUS instead of failing. Allocating the range
    // changes nothing where it is already allocated; a filesystem without fallocate is left alone.
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, sizeof(sem_t)) != 0 && errno != EOPNOTSUPP && errno != ENOSYS) {
      result = Failed(errno);
    } else if ((result.sem = MapSemaphore(fd)) == nullptr) {
      result = Failed(errno);
    }
  }
  close(fd);
  return result;
}

// Creates the semaphore file exclusively, as glibc's sem_open does: the sem_t is built in a file
// of its own under a temporary name and then linked in, so no one ever opens a half-made one,
// and link() fails with EEXIST if the name exists. The mode is set exactly (not narrowed by the
// umask) before the name appears.
Opened CreateExclusive(const std::string& name, mode_t mode, unsigned initial) {
  std::string temp = "/dev/shm/.ipckit-sem-XXXXXX";
  int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return Failed(errno);
  Opened result;
  // Blocks reserved before mapping, so a full /dev/shm fails here with ENOSPC instead of raising
  // SIGBUS when sem_init touches the page.
  int reserved = 0;
  if (fchmod(fd, mode) != 0) {
    result = Failed(errno);
  } else if ((reserved = posix_fallocate(fd, 0, sizeof(sem_t))) != 0) {
    result = Failed(reserved);
  } else if ((result.sem = MapSemaphore(fd)) == nullptr) {
    result = Failed(errno);
  } else if (sem_init(result.sem, 1, initial) != 0 || link(temp.c_str(), SemaphorePath(name).c_str()) != 0) {
    int error = errno;
    munmap(result.sem, sizeof(sem_t));
    result = Failed(error);
  }
  unlink(temp.c_str());
  close(fd);
  return result;
}

timespec AddMilliseconds(timespec base, double ms) {
  int64_t ns = static_cast<int64_t>(std::llround(ms * 1e6));
  base.tv_sec += static_cast<time_t>(ns / 1000000000);
  base.tv_nsec += static_cast<long>(ns % 1000000000);
  if (base.tv_nsec >= 1000000000) {
    base.tv_sec += 1;
    base.tv_nsec -= 1000000000;
  }
  return base;
}

// Waits until `deadline` on CLOCK_MONOTONIC, so a change of the wall clock neither shortens nor
// lengthens the wait. Returns 0, or the errno of the failure (ETIMEDOUT when the time is up).
int WaitUntilMonotonic(sem_t* sem, const timespec& deadline) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
  if (sem_clockwait(sem, CLOCK_MONOTONIC, &deadline) == 0) return 0;
  return errno;
#else
  // No sem_clockwait: wait in short CLOCK_REALTIME slices and judge the time left on the
  // monotonic clock, so a wall-clock jump costs at most one slice.
  for (;;) {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double leftMs = (deadline.tv_sec - now.tv_sec) * 1e3 + (deadline.tv_nsec - now.tv_nsec) / 1e6;
    if (leftMs <= 0) {
      if (sem_trywait(sem) == 0) return 0;
      return errno == EAGAIN ? ETIMEDOUT : errno;
    }
    timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    timespec slice = AddMilliseconds(wall, leftMs < 50 ? leftMs : 50);
    if (sem_timedwait(sem, &slice) == 0) return 0;
    if (errno != ETIMEDOUT) return errno;
  }
#endif
}

class NamedSemaphore : public WaitingHandle<NamedSemaphore> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b69745345ULL, 0x4d6e616d65643031ULL};
  static constexpr const char* kKindName = "named semaphore";

  struct Pending {
    sem_t* sem;
    std::string name;
    bool created;
  };

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<NamedSemaphore>::DefineClass(env, "NamedSemaphore",
        WithWaitMethods({
            Getter<&NamedSemaphore::Created>("created"),
            Getter<&NamedSemaphore::GetValue>("value"),
            Method<&NamedSemaphore::Post>("post"),
            Method<&NamedSemaphore::TryWait>("tryWait"),
            Method<&NamedSemaphore::Wait>("wait"),
            Method<&NamedSemaphore::WaitSync>("waitSync"),
            Method<&NamedSemaphore::Close>("close"),
        }));
  }

  explicit NamedSemaphore(const Napi::CallbackInfo& info) : WaitingHandle<NamedSemaphore>(info) {
    Pending* pending = PendingArg<Pending>(info);
    sem_ = std::make_shared<SemOwner>(pending->sem);
    pending->sem = nullptr;  // owned here from now on
    name_ = pending->name;
    created_ = pending->created;
    waits_.Bind(Addon::Of(info.Env()).waiters);
  }

  void ReleaseForTeardown() override {
    // The waiter pool's own teardown stops and frees the operations, and with them their share
    // of the semaphore.
    waits_.Clear();
    MarkClosed();
    sem_.reset();
  }

  void Forget(double opId) { waits_.Finish(opId); }
  std::string name() const override { return name_; }

 protected:
  WaitSet& waits() override { return waits_; }

 private:
  Napi::Value Created(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), created_); }

  // Named GetValue: ObjectWrap::Value() is the JS object.
  Napi::Value GetValue(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    int value = 0;
    if (sem_getvalue(sem_->get(), &value) != 0) Throw(OsFailure(env, errno, "sem_getvalue"));
    return Napi::Number::New(env, value);
  }

  Napi::Value Post(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (sem_post(sem_->get()) != 0) Throw(OsFailure(env, errno, "sem_post"));
    return env.Undefined();
  }

  Napi::Value TryWait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    for (;;) {
      if (sem_trywait(sem_->get()) == 0) return Napi::Boolean::New(env, true);
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return Napi::Boolean::New(env, false);
      Throw(OsFailure(env, errno, "sem_trywait"));
    }
  }

  // waitSync(timeoutMs | -1): boolean, false when the time ran out. Blocks the calling thread.
  Napi::Value WaitSync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    double timeout = info[0].As<Napi::Number>().DoubleValue();
    sem_t* sem = sem_->get();
    if (timeout < 0) {
      for (;;) {
        if (sem_wait(sem) == 0) return Napi::Boolean::New(env, true);
        if (errno != EINTR) Throw(OsFailure(env, errno, "sem_wait"));
      }
    }
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    // An absolute deadline, so a signal that interrupts the wait does not restart its clock.
    const timespec deadline = AddMilliseconds(now, timeout);
    for (;;) {
      int error = WaitUntilMonotonic(sem, deadline);
      if (error == 0) return Napi::Boolean::New(env, true);
      if (error == EINTR) continue;
      if (error == ETIMEDOUT) return Napi::Boolean::New(env, false);
      Throw(OsFailure(env, error, "sem_clockwait"));
    }
  }

  Napi::Value Wait(const Napi::CallbackInfo& info);

  // Stops every pending wait and lets go of this handle's share of the semaphore; it is unmapped
  // once the stopped waits have left sem_wait and settled.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (closed()) return info.Env().Undefined();
    MarkClosed();
    waits_.StopAll(StopReason::kClosed);
    sem_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<SemOwner> sem_;
  std::string name_;
  bool created_ = false;
  PendingWaits waits_;
};

// One wait on a waiter thread: sem_wait, or sem_clockwait against its deadline. Holds the
// semaphore (so it stays mapped while the thread is in the call) and the handle's JS object (so
// the handle outlives the wait).
class SemWaitOp final : public BlockingOp {
 public:
  SemWaitOp(Napi::Env env, NamedSemaphore* handle, Napi::Object self, double opId, Deadline deadline, std::shared_ptr<SemOwner> sem)
      : BlockingOp(env, deadline), handle_(handle), self_(Napi::Persistent(self)), opId_(opId), sem_(std::move(sem)) {}

  bool KernelDeadline() const override { return true; }

  void Execute() override {
    const timespec until = deadline().MonotonicTimespec();
    for (;;) {
      if (StopRequested()) return;
      int error = 0;
      if (deadline().never()) {
        error = sem_wait(sem_->get()) == 0 ? 0 : errno;
      } else {
        error = WaitUntilMonotonic(sem_->get(), until);
      }
      if (error == 0) {
        got_ = true;
        return;
      }
      if (error == ETIMEDOUT) {
        TimedOut();
        return;
      }
      if (error != EINTR) {
        error_ = error;
        return;
      }
    }
  }

  void Settle(Napi::Env env) override {
    handle_->Forget(opId_);
    if (got_) {
      // Taken as the stop was requested: the caller has the semaphore, so the wait succeeds.
      deferred_.Resolve(env.Undefined());
    } else if (error_ != 0) {
      if (deadline().never()) {
        deferred_.Reject(handle_->OsFailure(env, error_, "sem_wait").Value());
      } else {
        deferred_.Reject(handle_->OsFailure(env, error_, "sem_clockwait").Value());
      }
    } else {
      deferred_.Reject(StopError(env, stopReason(), "wait", "semaphore").Value());
    }
  }

 private:
  NamedSemaphore* handle_;
  Napi::ObjectReference self_;
  double opId_;
  std::shared_ptr<SemOwner> sem_;
  bool got_ = false;
  int error_ = 0;
};

// wait(opId, timeoutMs | -1): Promise<void>, blocking on a waiter thread. lib/ has already
// tried sem_trywait on this thread.
Napi::Value NamedSemaphore::Wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  double opId = info[0].As<Napi::Number>().DoubleValue();
  Deadline deadline = Deadline::After(info[1].As<Napi::Number>().DoubleValue());
  auto op = std::make_unique<SemWaitOp>(env, this, info.This().As<Napi::Object>(), opId, deadline, sem_);
  Napi::Promise promise = op->Promise();
  waits_.Start(opId, std::move(op));
  return promise;
}

// openSemaphore(name, flags, mode, initial): NamedSemaphore
Napi::Value OpenSemaphore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  uint32_t flags = info[1].As<Napi::Number>().Uint32Value();
  mode_t mode = static_cast<mode_t>(info[2].As<Napi::Number>().Uint32Value() & 0777);
  unsigned initial = info[3].As<Napi::Number>().Uint32Value();
  Opened opened;
  bool created = false;
  if (flags & kCreate) {
    // Create exclusively first, so `created` is known for certain; for openOrCreate, a name that
    // exists is opened instead, and one unlinked in between is created again.
    for (int attempt = 0; attempt < 16; attempt++) {
      opened = CreateExclusive(name, mode, initial);
      if (opened.sem != nullptr) {
        created = true;
        break;
      }
      if (opened.error != EEXIST || (flags & kExclusive)) break;
      opened = OpenExisting(name);
      if (opened.sem != nullptr || opened.error != ENOENT) break;
    }
  } else {
    opened = OpenExisting(name);
  }
  if (opened.sem == nullptr) {
    // Neither repaired nor replaced: the file may be someone's, and it is not ours to change.
    if (!opened.invalid.empty()) {
      Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_INVALID_OBJECT", "'" + name + "' is not a semaphore: " + opened.invalid));
    }
    // Reported as sem_open whichever step failed, as glibc's sem_open reports them to C.
    Throw(SystemError(env, OsError{opened.error, "sem_open", name}));
  }
  NamedSemaphore::Pending pending{opened.sem, name, created};
  try {
    return Addon::Of(env).NewInstance<NamedSemaphore>({Napi::External<NamedSemaphore::Pending>::New(env, &pending)});
  } catch (...) {
    if (pending.sem != nullptr) munmap(pending.sem, sizeof(sem_t));
    throw;
  }
}

// unlinkSemaphore(name)
Napi::Value UnlinkSemaphore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (sem_unlink(name.c_str()) != 0) Throw(SystemError(env, LastOsError("sem_unlink", name)));
  return env.Undefined();
}

}  // namespace

void InitNamedSemaphore(Napi::Env env, Napi::Object exports) {
  Napi::Function semaphoreClass = NamedSemaphore::DefineClass(env);
  Addon::Of(env).RegisterClass<NamedSemaphore>(semaphoreClass);
  exports.Set("NamedSemaphore", semaphoreClass);
  exports.Set("openSemaphore", Napi::Function::New<OpenSemaphore>(env, "openSemaphore"));
  exports.Set("unlinkSemaphore", Napi::Function::New<UnlinkSemaphore>(env, "unlinkSemaphore"));
  exports.Set("semValueMax", Napi::Number::New(env, static_cast<double>(SEM_VALUE_MAX)));
  Napi::Object names = Napi::Object::New(env);
  names.Set("nameMax", Napi::Number::New(env, NAME_MAX));
  names.Set("semaphoreFilePrefix", Napi::String::New(env, kSemaphoreFilePrefix));
  names.Set("semaphoreNameMax", Napi::Number::New(env, static_cast<double>(kSemaphoreNameMax)));
  SetConstantGroup(exports, "posixNames", names);
}

}  // namespace ipckit::posix

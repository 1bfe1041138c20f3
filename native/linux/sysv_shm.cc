// System V shared memory: shmget, shmat, shmctl, shmdt. A segment is attached once per handle
// and exposed through the same MappingHandle as POSIX shared memory, so close() detaches every
// Buffer and view before shmdt, exactly as it does before munmap.
#include "linux/sysv_shm.h"

#include <errno.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "common/constants.h"
#include "common/errors.h"
#include "common/mapping.h"
#include "linux/sysv_common.h"

namespace ipckit::posix {

namespace {

constexpr uint32_t kCreate = kSysVCreate;
constexpr uint32_t kExclusive = kSysVExclusive;
constexpr uint32_t kPrivate = kSysVPrivate;

// One attachment of a segment. There is no descriptor: the attachment is both the object and
// the view, so CloseObject() has nothing to release and Unmap() is shmdt.
class SysVMapped final : public Mapped {
 public:
  SysVMapped(int id, std::string name, uint8_t* address, size_t size, bool readOnly) : id_(id), readOnly_(readOnly) {
    name_ = std::move(name);
    data_ = address;
    size_ = size;
  }
  ~SysVMapped() override { Unmap(); }

  // A read-only attachment is SHM_RDONLY: its pages cannot be written at all (a write faults),
  // so no JavaScript memory may be made over it.
  bool Writable() const override { return !readOnly_; }

  // The segment is memory, not a file: there is nothing to write back.
  void Flush() override {}

  MappingStat Stat() override {
    struct shmid_ds ds;
    if (shmctl(id_, IPC_STAT, &ds) != 0) throw LastOsError("shmctl", name_);
    return MappingStat{static_cast<double>(ds.shm_segsz), static_cast<uint32_t>(ds.shm_perm.mode & 0777),
        static_cast<uint32_t>(ds.shm_perm.uid), static_cast<uint32_t>(ds.shm_perm.gid)};
  }

  void CloseObject() noexcept override {}

  void Unmap() noexcept override {
    if (data_ != nullptr) shmdt(data_);
    data_ = nullptr;
    size_ = 0;
  }

 private:
  int id_;
  bool readOnly_;
};

long ProcLimit(const char* path) { return ReadProcLong(path, -1); }

// What a failed shmget means when a limit, not a fault, refused it.
OsError GetError(int code, const std::string& name, double size, bool creating) {
  OsError error{code, "shmget", name};
  if (!creating) return error;
  if (code == EINVAL) {
    long shmmax = ProcLimit(limit::kShmmax);
    if (shmmax > 0 && size > static_cast<double>(shmmax)) {
      error.limit = Limit{limit::kShmmax, static_cast<double>(shmmax),
          "a segment of " + std::to_string(static_cast<long long>(size)) + " bytes exceeds the largest the kernel allows, " +
              std::string(limit::kShmmax) + " = " + std::to_string(shmmax)};
    }
  } else if (code == ENOSPC) {
    long shmmni = ProcLimit(limit::kShmmni);
    long shmall = ProcLimit(limit::kShmall);
    error.limit = Limit{limit::kShmall, static_cast<double>(shmall),
        "the system's segments (" + std::string(limit::kShmmni) + " = " + std::to_string(shmmni) + ") or pages of shared memory (" +
            limit::kShmall + " = " + std::to_string(shmall) + ") are used up"};
  }
  return error;
}

// Removes a segment this call created, if anything after shmget fails.
struct CreatedGuard {
  int id = -1;
  ~CreatedGuard() {
    if (id >= 0) shmctl(id, IPC_RMID, nullptr);
  }
};

// Attaches segment `id` and wraps it; a segment this call created is removed again if that fails.
Napi::Object Attach(Napi::Env env, int id, const std::string& name, bool created, bool readOnly) {
  CreatedGuard guard;
  if (created) guard.id = id;
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0) Throw(SystemError(env, LastOsError("shmctl", name)));
  size_t segmentSize = static_cast<size_t>(ds.shm_segsz);
  void* address = shmat(id, nullptr, readOnly ? SHM_RDONLY : 0);
  if (address == reinterpret_cast<void*>(-1)) Throw(SystemError(env, LastOsError("shmat", name)));
  auto mapped = std::make_shared<SysVMapped>(id, name, static_cast<uint8_t*>(address), segmentSize, readOnly);
  Napi::Object mapping = MappingHandle::Wrap(env, std::move(mapped), created, readOnly);
  guard.id = -1;
  Napi::Object result = Napi::Object::New(env);
  result.Set("mapping", mapping);
  result.Set("id", Napi::Number::New(env, id));
  result.Set("key", Napi::Number::New(env, static_cast<double>(ds.shm_perm.__key)));
  return result;
}

// openSysVSharedMemory(key, flags, mode, size, readOnly): { mapping: Mapping, id: number, key: number }
// `size` is used only when the segment is created; an opened one is mapped at the size the
// kernel records for it (IPC_STAT), never at the caller's guess.
Napi::Value OpenSysVSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double keyValue = info[0].As<Napi::Number>().DoubleValue();
  uint32_t flags = info[1].As<Napi::Number>().Uint32Value();
  int mode = static_cast<int>(info[2].As<Napi::Number>().Uint32Value() & 0777);
  double size = info[3].As<Napi::Number>().DoubleValue();
  bool readOnly = info[4].As<Napi::Boolean>().Value();
  if (!(size >= 0) || size > static_cast<double>(std::numeric_limits<size_t>::max() / 2)) {
    Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "size is out of range"));
  }
  bool isPrivate = (flags & kPrivate) != 0;
  key_t key = isPrivate ? IPC_PRIVATE : static_cast<key_t>(static_cast<int64_t>(keyValue));
  std::string name = isPrivate ? "IPC_PRIVATE" : KeyName(keyValue);
  // shmget checks the permission bits it is given: asking for what the attachment needs makes a
  // segment this process could not attach fail here, with EACCES.
  int wanted = readOnly ? 0400 : 0600;
  bool creating = (flags & kCreate) != 0 || isPrivate;
  size_t createSize = static_cast<size_t>(size);

  bool created = false;
  int id = -1;
  if (isPrivate) {
    id = shmget(IPC_PRIVATE, createSize, IPC_CREAT | mode);
    created = id >= 0;
  } else if (flags & kCreate) {
    // openOrCreate: create, or open what exists; if it was removed in between, try again.
    for (int attempt = 0; attempt < 8 && id < 0; attempt++) {
      id = shmget(key, createSize, IPC_CREAT | IPC_EXCL | mode);
      if (id >= 0) {
        created = true;
        break;
      }
      if (errno != EEXIST || (flags & kExclusive)) break;
      id = shmget(key, 0, wanted);
      if (id < 0 && errno != ENOENT) break;
    }
  } else {
    id = shmget(key, 0, wanted);
  }
  if (id < 0) Throw(SystemError(env, GetError(errno, name, size, creating && !created)));

  return Attach(env, id, name, created, readOnly);
}

// attachSysVSharedMemory(id, readOnly): { mapping, id, key }, for a segment known by its id (a
// private one, or one whose id a peer passed on), as shmat(id) is in C.
Napi::Value AttachSysVSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int id = info[0].As<Napi::Number>().Int32Value();
  bool readOnly = info[1].As<Napi::Boolean>().Value();
  return Attach(env, id, "shmid " + std::to_string(id), false, readOnly);
}

double Seconds(time_t value) { return static_cast<double>(value); }

// statSysVSharedMemory(id, name): what IPC_STAT says of the segment. lib/ calls it only while
// its handle is attached, so the id cannot have been reused for another segment.
Napi::Value StatSysVSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int id = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0) Throw(SystemError(env, LastOsError("shmctl", name)));
  Napi::Object result = Napi::Object::New(env);
  result.Set("size", Napi::Number::New(env, static_cast<double>(ds.shm_segsz)));
  result.Set("mode", Napi::Number::New(env, ds.shm_perm.mode & 0777));
  result.Set("uid", Napi::Number::New(env, ds.shm_perm.uid));
  result.Set("gid", Napi::Number::New(env, ds.shm_perm.gid));
  result.Set("cuid", Napi::Number::New(env, ds.shm_perm.cuid));
  result.Set("cgid", Napi::Number::New(env, ds.shm_perm.cgid));
  result.Set("attachCount", Napi::Number::New(env, static_cast<double>(ds.shm_nattch)));
  result.Set("creatorPid", Napi::Number::New(env, ds.shm_cpid));
  result.Set("lastPid", Napi::Number::New(env, ds.shm_lpid));
  result.Set("attachTime", Napi::Number::New(env, Seconds(ds.shm_atime)));
  result.Set("detachTime", Napi::Number::New(env, Seconds(ds.shm_dtime)));
  result.Set("changeTime", Napi::Number::New(env, Seconds(ds.shm_ctime)));
  // SHM_DEST: IPC_RMID has been asked for; the segment goes with its last attachment.
  result.Set("removed", Napi::Boolean::New(env, (ds.shm_perm.mode & SHM_DEST) != 0));
  result.Set("key", Napi::Number::New(env, static_cast<double>(static_cast<uint32_t>(ds.shm_perm.__key))));
  return result;
}

// removeSysVSharedMemory(id, name): IPC_RMID.
Napi::Value RemoveSysVSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int id = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  if (shmctl(id, IPC_RMID, nullptr) != 0) Throw(SystemError(env, LastOsError("shmctl", name)));
  return env.Undefined();
}

// removeSysVSharedMemoryKey(key): IPC_RMID of the segment with that key, found without
// attaching (shmget with no permission bits asked: removal needs ownership, not access).
Napi::Value RemoveSysVSharedMemoryKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double keyValue = info[0].As<Napi::Number>().DoubleValue();
  std::string name = KeyName(keyValue);
  int id = shmget(static_cast<key_t>(static_cast<int64_t>(keyValue)), 0, 0);
  if (id < 0) Throw(SystemError(env, LastOsError("shmget", name)));
  if (shmctl(id, IPC_RMID, nullptr) != 0) Throw(SystemError(env, LastOsError("shmctl", name)));
  return env.Undefined();
}

// sysvShmLimits(): shmmax and shmall (-1 where unreadable), shmmni.
Napi::Value SysVShmLimits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  // shmmax and shmall default to nearly 2^64 on 64-bit kernels: beyond a double's integers, so
  // read as the double nearest.
  auto read = [](const char* path) {
    FILE* file = std::fopen(path, "r");
    if (file == nullptr) return -1.0;
    unsigned long long value = 0;
    int got = std::fscanf(file, "%llu", &value);
    std::fclose(file);
    return got == 1 ? static_cast<double>(value) : -1.0;
  };
  result.Set("shmmax", Napi::Number::New(env, read(limit::kShmmax)));
  result.Set("shmall", Napi::Number::New(env, read(limit::kShmall)));
  result.Set("shmmni", Napi::Number::New(env, read(limit::kShmmni)));
  return result;
}

}  // namespace

void InitSysVSharedMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("openSysVSharedMemory", Napi::Function::New<OpenSysVSharedMemory>(env, "openSysVSharedMemory"));
  exports.Set("attachSysVSharedMemory", Napi::Function::New<AttachSysVSharedMemory>(env, "attachSysVSharedMemory"));
  exports.Set("statSysVSharedMemory", Napi::Function::New<StatSysVSharedMemory>(env, "statSysVSharedMemory"));
  exports.Set("removeSysVSharedMemory", Napi::Function::New<RemoveSysVSharedMemory>(env, "removeSysVSharedMemory"));
  exports.Set("removeSysVSharedMemoryKey", Napi::Function::New<RemoveSysVSharedMemoryKey>(env, "removeSysVSharedMemoryKey"));
  exports.Set("sysvShmLimits", Napi::Function::New<SysVShmLimits>(env, "sysvShmLimits"));
}

}  // namespace ipckit::posix

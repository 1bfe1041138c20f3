// Shared memory on Windows: a named file mapping backed by the paging file, `Local\jobs` for
// ipckit's '/jobs' (win/names.h), with the native surface of native/posix/shm.cc so that
// lib/shared-memory.ts is the same on both. What Windows does differently:
// - a mapping's name lasts as long as some process has a handle on it; there is no unlink, so
//   unlinkSharedMemory only checks the name and does nothing (see UnlinkSharedMemory);
// - the size of an opened mapping is the section's (NtQuerySection), and the kernel keeps a
//   paging-file section's size in whole pages: a mapping created with 5000 bytes opens as 8192
//   (Windows does so, as ReactOS's NtQuerySection test records against Windows Server 2003, and
//   Wine 8 does the same). The creator's handle keeps the size it asked for; stat() reports the
//   section's. binding.constants.windowsSharedMemory.sizeGranularity says by how much;
// - all pages are committed at create time (ERROR_COMMITMENT_LIMIT there, never a fault later),
//   so `reserve: false` changes nothing; `mode` is not applied (the default security descriptor
//   of the creating process applies), and stat() reports mode, uid and gid as 0.
#include "win/shm.h"

#include <windows.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/constants.h"
#include "common/errors.h"
#include "common/mapping.h"
#include "win/names.h"

namespace ipckit::win {

namespace {

constexpr uint32_t kCreate = kShmCreate;
constexpr uint32_t kExclusive = kShmExclusive;
constexpr uint32_t kReadOnly = kShmReadOnly;

// ntdll's NtQuerySection and its SectionBasicInformation (class 0), as documented for drivers.
struct SectionBasicInformation {
  PVOID baseAddress;
  ULONG allocationAttributes;
  LARGE_INTEGER maximumSize;
};
using NtQuerySectionFn = LONG(NTAPI*)(HANDLE, int, PVOID, SIZE_T, PSIZE_T);

// The section's size in bytes, as it was created (MaximumSize).
bool SectionSize(HANDLE section, uint64_t* size, int* error) {
  static const NtQuerySectionFn query = NtdllFunction<NtQuerySectionFn>("NtQuerySection");
  if (query == nullptr) {
    *error = ERROR_PROC_NOT_FOUND;
    return false;
  }
  SectionBasicInformation info = {};
  LONG status = query(section, 0, &info, sizeof info, nullptr);
  if (status < 0) {
    *error = NtStatusError(status);
    return false;
  }
  *size = static_cast<uint64_t>(info.maximumSize.QuadPart);
  return true;
}

class WinMapped final : public Mapped {
 public:
  WinMapped(HANDLE section, std::string name) : section_(section) { name_ = std::move(name); }
  ~WinMapped() override {
    Unmap();
    CloseObject();
  }

  // A read-only handle maps a copy-on-write view: it shows what other processes write until this
  // process writes to a page, and a stray write from JavaScript lands in a private copy of that
  // page instead of faulting on a read-only one.
  void MapView(size_t size, bool readOnly) {
    if (size == 0) return;
    void* address = MapViewOfFile(section_, readOnly ? FILE_MAP_COPY : FILE_MAP_WRITE, 0, 0, size);
    if (address == nullptr) throw LastOsError("MapViewOfFile", name_);
    data_ = static_cast<uint8_t*>(address);
    size_ = size;
  }

  void Flush() override {
    // A paging-file section has no file to write back to; kept for the same surface as a file.
    if (data_ != nullptr && !FlushViewOfFile(data_, 0)) throw LastOsError("FlushViewOfFile", name_);
  }

  MappingStat Stat() override {
    uint64_t size = size_;
    int error = 0;
    if (section_ != nullptr && !SectionSize(section_, &size, &error)) throw OsError{error, "NtQuerySection", name_};
    // Windows objects have a security descriptor, not POSIX mode bits and owners.
    return MappingStat{static_cast<double>(size), 0, 0, 0};
  }

  void CloseObject() noexcept override {
    if (section_ != nullptr) CloseHandle(section_);
    section_ = nullptr;
  }

  void Unmap() noexcept override {
    if (data_ != nullptr) UnmapViewOfFile(data_);
    data_ = nullptr;
    size_ = 0;
  }

 private:
  HANDLE section_;
};

[[noreturn]] void ThrowOs(Napi::Env env, const OsError& error) { Throw(SystemError(env, error)); }

// ERROR_INVALID_HANDLE from CreateFileMappingW/OpenFileMappingW: the name is taken by an object
// of another type (a semaphore, an event): Windows keeps them all in one namespace.
[[noreturn]] void ThrowOpenFailure(Napi::Env env, const OsError& error) {
  if (error.code == ERROR_INVALID_HANDLE) {
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_INVALID_OBJECT",
        "'" + error.path + "' is not a shared memory object: the name belongs to another kind of Windows object"));
  }
  ThrowOs(env, error);
}

// openSharedMemory(name: string, flags: number, mode: number, size: number): Mapping
// `mode` is not used on Windows (see the top of the file).
Napi::Value OpenSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  uint32_t flags = info[1].As<Napi::Number>().Uint32Value();
  double requested = info[3].As<Napi::Number>().DoubleValue();
  std::wstring object = CheckedObjectName(env, name);
  bool readOnly = (flags & kReadOnly) != 0;

  OwnedHandle section;
  bool created = false;
  if (flags & kCreate) {
    if (!(requested >= 1) || requested > static_cast<double>(SIZE_MAX)) {
      Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "size is out of range"));
    }
    uint64_t size = static_cast<uint64_t>(requested);
    // Committed now: a paging file too small fails here (ERROR_COMMITMENT_LIMIT), not at a touch.
    section.Reset(CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE | SEC_COMMIT, static_cast<DWORD>(size >> 32),
        static_cast<DWORD>(size & 0xffffffffu), object.c_str()));
    if (section.get() == nullptr) ThrowOpenFailure(env, LastOsError("CreateFileMappingW", name));
    // The name existed: CreateFileMappingW opened it (with its own size) instead.
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
      if (flags & kExclusive) {
        section.Reset();
        ThrowOs(env, OsError{ERROR_ALREADY_EXISTS, "CreateFileMappingW", name});
      }
    } else {
      created = true;
    }
  } else {
    // SECTION_QUERY for NtQuerySection; a read-only handle cannot map a shared writable view.
    DWORD access = SECTION_QUERY | (readOnly ? FILE_MAP_READ : FILE_MAP_READ | FILE_MAP_WRITE);
    section.Reset(OpenFileMappingW(access, FALSE, object.c_str()));
    if (section.get() == nullptr) ThrowOpenFailure(env, LastOsError("OpenFileMappingW", name));
  }

  // What this call created has the size it asked for; what it opened, the section's (whole pages).
  uint64_t size = static_cast<uint64_t>(requested);
  int error = 0;
  if (!created && !SectionSize(section.get(), &size, &error)) ThrowOs(env, OsError{error, "NtQuerySection", name});
  if (size > static_cast<uint64_t>(SIZE_MAX)) ThrowOs(env, OsError{ERROR_NOT_ENOUGH_MEMORY, "MapViewOfFile", name});
  auto mapped = std::make_shared<WinMapped>(section.Release(), name);
  try {
    mapped->MapView(static_cast<size_t>(size), readOnly);
  } catch (const OsError& failure) {
    ThrowOs(env, failure);  // `mapped` closes the section; a name only this call held goes with it
  }
  return MappingHandle::Wrap(env, std::move(mapped), created, readOnly);
}

// unlinkSharedMemory(name: string): void
// Windows has no unlink: the name goes when the last handle on the mapping closes, in whatever
// process. So this only checks the name and returns, whether or not a mapping of that name is
// open somewhere: on Linux, unlinking after close() succeeds, and here the object is then
// already gone; reporting ENOENT for it would make portable clean-up code fail on Windows.
Napi::Value UnlinkSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckedObjectName(env, info[0].As<Napi::String>().Utf8Value());
  return env.Undefined();
}

}  // namespace

void InitSharedMemory(Napi::Env env, Napi::Object exports) {
  SYSTEM_INFO system;
  GetSystemInfo(&system);
  Napi::Object constants = Napi::Object::New(env);
  constants.Set("sizeGranularity", Napi::Number::New(env, system.dwPageSize));
  SetConstantGroup(exports, "windowsSharedMemory", constants);
  exports.Set("openSharedMemory", Napi::Function::New<OpenSharedMemory>(env, "openSharedMemory"));
  exports.Set("unlinkSharedMemory", Napi::Function::New<UnlinkSharedMemory>(env, "unlinkSharedMemory"));
}

}  // namespace ipckit::win

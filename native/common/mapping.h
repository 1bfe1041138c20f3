// The one mapping helper every kind of shared memory uses (POSIX shm, mapped files, and later
// System V shm, memfd and Windows file mappings): a platform object owns the OS handle and the
// view; MappingHandle exposes it to JavaScript as exactly one external ArrayBuffer.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <unordered_map>

#include "common/addon.h"
#include "common/waiter.h"

namespace ipckit {

struct MappingStat {
  double size;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
};

// A mapped view plus the OS object behind it. Implemented per platform.
class Mapped {
 public:
  virtual ~Mapped() = default;
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& name() const { return name_; }

  // Whether JavaScript may have memory over the view. A view whose pages fault on a write (a
  // System V segment attached SHM_RDONLY) is read through copies only (MappingHandle::Read).
  virtual bool Writable() const { return true; }
  // The descriptor of the object behind the view, -1 if it has none (a System V segment).
  virtual int Descriptor() const { return -1; }
  virtual void Flush() = 0;                 // throws OsError
  virtual MappingStat Stat() = 0;           // throws OsError
  virtual void CloseObject() noexcept = 0;  // the descriptor/handle; the view stays valid
  virtual void Unmap() noexcept = 0;        // idempotent

 protected:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string name_;
};

class MappingHandle;

// Mapping handles by number. The futex and lock calls take a mapping by this number rather than
// by object: a hash lookup instead of two napi calls (type-tag check and unwrap) on every wait
// and wake. Numbers are never reused, so a stale one finds nothing.
class MappingSlots {
 public:
  uint32_t Add(MappingHandle* handle) {
    uint32_t slot = next_++;
    slots_[slot] = handle;
    return slot;
  }
  MappingHandle* Find(uint32_t slot) const {
    auto it = slots_.find(slot);
    return it == slots_.end() ? nullptr : it->second;
  }
  void Remove(uint32_t slot) { slots_.erase(slot); }

 private:
  std::unordered_map<uint32_t, MappingHandle*> slots_;
  uint32_t next_ = 1;
};

// JavaScript's handle on a mapping. The view outlives the handle while any ArrayBuffer over it is
// reachable: the ArrayBuffer's finalizer holds a reference to the Mapped object. close() detaches
// the ArrayBuffer first (every Buffer and view taken from it drops to length 0), then unmaps.
class MappingHandle : public Napi::ObjectWrap<MappingHandle>, public Closeable {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6970636b69744d61ULL, 0x7070696e67763031ULL};
  static constexpr const char* kKindName = "mapping";

  static Napi::Function DefineClass(Napi::Env env);
  // Wraps a freshly opened mapping in a new JS handle.
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<Mapped> mapped, bool created, bool readOnly);

  explicit MappingHandle(const Napi::CallbackInfo& info);
  ~MappingHandle() override;
  void ReleaseForTeardown() override;

  // For waits and locks in this memory (native/linux/sync.cc). Throws ERR_IPC_CLOSED once closed,
  // unless `whileLocked`: a mutex this environment still holds here can be unlocked after close().
  uint8_t* Data(Napi::Env env, bool whileLocked = false);
  // Robust mutexes this environment holds in this memory. glibc links each into the holding
  // thread's robust list, and the kernel walks that list when the thread dies to mark them
  // owner-died: unmapping the memory under a held mutex would break both, so close() keeps the
  // memory mapped until they are unlocked (and teardown never unmaps it).
  void LockAcquired() { heldLocks_++; }
  void LockReleased();
  size_t Size() const { return mapped_ ? mapped_->size() : 0; }
  // Blocking operations that read or wait on this memory from a waiter thread. While any is
  // pending, close() stops them and defers the unmap until the last has settled, so no thread
  // ever touches memory that is gone. StartWait throws ERR_INVALID_STATE for a number already
  // pending here; the op calls FinishWait from its Settle().
  void StartWait(double opId, std::unique_ptr<BlockingOp> op, bool referenced);
  void FinishWait(double opId);
  PendingWaits& waits() { return waits_; }
  // The object's name, for what the platform derives from it ('' once released).
  std::string Name() const { return mapped_ ? mapped_->name() : std::string(); }
  // State the platform's per-word calls keep for this mapping (on Windows, the named events that
  // stand in for futexes: native/win/channel_events.cc). Dropped when the handle closes or is
  // released; a wait in progress holds what it uses itself.
  std::shared_ptr<void>& extension() { return extension_; }

 private:
  Napi::Value ArrayBuffer(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Created(const Napi::CallbackInfo& info);
  Napi::Value ReadOnly(const Napi::CallbackInfo& info);
  Napi::Value Closed(const Napi::CallbackInfo& info);
  Napi::Value Slot(const Napi::CallbackInfo& info);
  Napi::Value Flush(const Napi::CallbackInfo& info);
  Napi::Value Stat(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  Mapped& OpenOrThrow(Napi::Env env);
  void Release();
  void ReleaseIfUnused();

  std::shared_ptr<Mapped> mapped_;
  bool closed_ = false;
  int heldLocks_ = 0;
  PendingWaits waits_;
  std::shared_ptr<MappingSlots> slots_;
  uint32_t slot_ = 0;
  std::shared_ptr<HandleRegistry> registry_;
  Napi::Reference<Napi::ArrayBuffer> arrayBuffer_;
  std::shared_ptr<void> extension_;
  bool created_ = false;
  bool readOnly_ = false;
};

}  // namespace ipckit

#include "common/mapping.h"

#include "common/errors.h"

namespace ipckit {

namespace {

// Carried through napi_external into the constructor, so JavaScript cannot construct a handle
// that owns nothing.
struct PendingMapping {
  std::shared_ptr<Mapped> mapped;
  bool created;
  bool readOnly;
};

void ReleaseMappedReference(Napi::Env, void*, std::shared_ptr<Mapped>* hint) { delete hint; }

}  // namespace

Napi::Function MappingHandle::DefineClass(Napi::Env env) {
  return ObjectWrap<MappingHandle>::DefineClass(env, "Mapping",
      {
          InstanceMethod<&MappingHandle::ArrayBuffer>("arrayBuffer"),
          InstanceMethod<&MappingHandle::Read>("read"),
          InstanceAccessor<&MappingHandle::Size>("size"),
          InstanceAccessor<&MappingHandle::Fd>("fd"),
          InstanceAccessor<&MappingHandle::Created>("created"),
          InstanceAccessor<&MappingHandle::ReadOnly>("readOnly"),
          InstanceAccessor<&MappingHandle::Closed>("closed"),
          InstanceAccessor<&MappingHandle::Slot>("slot"),
          InstanceMethod<&MappingHandle::Flush>("flush"),
          InstanceMethod<&MappingHandle::Stat>("stat"),
          InstanceMethod<&MappingHandle::Close>("close"),
      });
}

Napi::Object MappingHandle::Wrap(Napi::Env env, std::shared_ptr<Mapped> mapped, bool created, bool readOnly) {
  PendingMapping pending{std::move(mapped), created, readOnly};
  // If New() throws, `pending` still owns the mapping and releases it on unwind.
  return Addon::Of(env).NewInstance<MappingHandle>({Napi::External<PendingMapping>::New(env, &pending)});
}

MappingHandle::MappingHandle(const Napi::CallbackInfo& info) : ObjectWrap<MappingHandle>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsExternal()) {
    Throw(LibraryError(env, ErrorKind::kTypeError, "ERR_ILLEGAL_CONSTRUCTOR", "Mapping handles are created by the open functions"));
  }
  PendingMapping* pending = info[0].As<Napi::External<PendingMapping>>().Data();
  mapped_ = std::move(pending->mapped);
  created_ = pending->created;
  readOnly_ = pending->readOnly;
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  registry_ = Addon::Of(env).registry;
  waits_.Bind(Addon::Of(env).waiters);
  slots_ = Addon::Of(env).mappingSlots;
  slot_ = slots_->Add(this);
  registry_->Add(this);
}

MappingHandle::~MappingHandle() {
  slots_->Remove(slot_);
  // The finalizer path: the handle was dropped without close(). Release the descriptor but keep
  // the view mapped, since a Buffer taken from it may still be reachable; the ArrayBuffer's own
  // finalizer unmaps when the last one goes. Never unlink a name here.
  registry_->Remove(this);
  if (mapped_) mapped_->CloseObject();
  // A mutex still held here keeps its pages mapped for the rest of the process (see teardown).
  if (heldLocks_ > 0 && mapped_) new std::shared_ptr<Mapped>(mapped_);
}

void MappingHandle::ReleaseForTeardown() {
  // The environment is going away and no JavaScript will run again in it. The waiter pool has
  // already stopped and joined its threads (see addon.cc), so no dependent is still running.
  waits_.Clear();
  closed_ = true;
  extension_.reset();
  if (!mapped_) return;
  if (heldLocks_ > 0) {
    // Leave the pages mapped for the rest of the process: the dying thread's robust list still
    // points into them, and the kernel needs them to mark the mutexes owner-died.
    mapped_->CloseObject();
    new std::shared_ptr<Mapped>(std::move(mapped_));
    return;
  }
  mapped_->Unmap();
  mapped_->CloseObject();
  mapped_.reset();
}

Mapped& MappingHandle::OpenOrThrow(Napi::Env env) {
  if (closed_ || !mapped_) {
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_CLOSED", "The handle is closed"));
  }
  return *mapped_;
}

Napi::Value MappingHandle::ArrayBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mapped& mapped = OpenOrThrow(env);
  if (!arrayBuffer_.IsEmpty()) return arrayBuffer_.Value();
  if (!mapped.Writable()) {
    Throw(LibraryError(env, ErrorKind::kError, "ERR_IPC_READ_ONLY",
        "'" + mapped.name() +
            "' is attached read-only: its pages fault on any write, so it offers no Buffer or view (a stray write would kill the "
            "process); read(offset, length) copies bytes out"));
  }
  Napi::ArrayBuffer buffer;
  if (mapped.size() == 0) {
    buffer = Napi::ArrayBuffer::New(env, 0);
  } else {
    // If creation fails Node may already have run the finalizer (it does for a length over
    // buffer.constants.MAX_LENGTH), so the hint is not freed here; lib/mapping.ts refuses such
    // lengths before asking.
    auto* hint = new std::shared_ptr<Mapped>(mapped_);
    buffer = Napi::ArrayBuffer::New(env, mapped.data(), mapped.size(), ReleaseMappedReference, hint);
  }
  arrayBuffer_ = Napi::Reference<Napi::ArrayBuffer>::New(buffer, 1);
  return buffer;
}

// read(offset, length): a copy of [offset, offset + length). lib/ checks the bounds; they are
// checked again here, since the copy reads raw memory.
Napi::Value MappingHandle::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mapped& mapped = OpenOrThrow(env);
  double offset = info[0].As<Napi::Number>().DoubleValue();
  double length = info[1].As<Napi::Number>().DoubleValue();
  double size = static_cast<double>(mapped.size());
  if (!(offset >= 0) || !(length >= 0) || offset > size || length > size - offset) {
    Throw(LibraryError(env, ErrorKind::kRangeError, "ERR_OUT_OF_RANGE", "offset and length must lie within the mapping"));
  }
  return Napi::Buffer<uint8_t>::Copy(env, mapped.data() + static_cast<size_t>(offset), static_cast<size_t>(length));
}

Napi::Value MappingHandle::Size(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(OpenOrThrow(info.Env()).size()));
}

Napi::Value MappingHandle::Fd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), OpenOrThrow(info.Env()).Descriptor());
}

Napi::Value MappingHandle::Created(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), created_); }

Napi::Value MappingHandle::ReadOnly(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), readOnly_); }

Napi::Value MappingHandle::Slot(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), slot_); }

Napi::Value MappingHandle::Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !mapped_); }

Napi::Value MappingHandle::Flush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    OpenOrThrow(env).Flush();
  } catch (const OsError& error) {
    Throw(SystemError(env, error));
  }
  return env.Undefined();
}

Napi::Value MappingHandle::Stat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingStat stat;
  try {
    stat = OpenOrThrow(env).Stat();
  } catch (const OsError& error) {
    Throw(SystemError(env, error));
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("size", Napi::Number::New(env, stat.size));
  result.Set("mode", Napi::Number::New(env, stat.mode));
  result.Set("uid", Napi::Number::New(env, stat.uid));
  result.Set("gid", Napi::Number::New(env, stat.gid));
  return result;
}

Napi::Value MappingHandle::Close(const Napi::CallbackInfo& info) {
  if (closed_) return info.Env().Undefined();
  closed_ = true;
  // Detach before unmapping: from here on every Buffer and view over this memory has length 0,
  // so no JavaScript can touch the pages once they are gone.
  if (!arrayBuffer_.IsEmpty()) {
    Napi::ArrayBuffer buffer = arrayBuffer_.Value();
    if (!buffer.IsDetached()) buffer.Detach();
    arrayBuffer_.Reset();
  }
  registry_->Remove(this);
  // The descriptor goes now; only the view has to outlive close() for the waits and held
  // mutexes below.
  if (mapped_) mapped_->CloseObject();
  // Waits on this memory end with ERR_IPC_CLOSED; the last one to settle, or the last unlock of
  // a mutex held here, unmaps.
  waits_.StopAll(StopReason::kClosed);
  extension_.reset();
  ReleaseIfUnused();
  return info.Env().Undefined();
}

void MappingHandle::ReleaseIfUnused() {
  if (closed_ && waits_.empty() && heldLocks_ == 0) Release();
}

void MappingHandle::LockReleased() {
  if (heldLocks_ > 0) heldLocks_--;
  ReleaseIfUnused();
}

void MappingHandle::Release() {
  if (!mapped_) return;
  mapped_->Unmap();
  mapped_->CloseObject();
  mapped_.reset();
}

uint8_t* MappingHandle::Data(Napi::Env env, bool whileLocked) {
  if (whileLocked && closed_ && heldLocks_ > 0 && mapped_) return mapped_->data();
  return OpenOrThrow(env).data();
}

void MappingHandle::StartWait(double opId, std::unique_ptr<BlockingOp> op, bool referenced) {
  // Pending waits are known by number to this mapping (for close()) and to lib/ (for stop and
  // ref): a number in use twice would let one wait shadow another, which then never settles.
  if (waits_.Has(opId)) {
    Throw(LibraryError(
        Env(), ErrorKind::kError, "ERR_INVALID_STATE", "wait number " + std::to_string(opId) + " is already pending on this mapping"));
  }
  waits_.Start(opId, std::move(op), referenced);
}

void MappingHandle::FinishWait(double opId) {
  waits_.Finish(opId);
  ReleaseIfUnused();
}

}  // namespace ipckit

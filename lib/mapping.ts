// What every kind of mapped memory shares: one Buffer over the whole mapping, typed views with
// bounds and alignment checks, flush, stat and an idempotent close that detaches every view.
import { constants as bufferConstants } from 'node:buffer';
import type { NativeMapping } from './binding';
import { closedError, CONSTRUCT, illegalConstructor, invalidArgType, IpcError, outOfRange } from './errors';

/** Constructors `view()` accepts. */
export type ViewConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor
  | DataViewConstructor;

const viewConstructors = new Set<unknown>([
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
]);

/** File status of the object behind a mapping. */
export interface MappingStats {
  /** The object's size now, in bytes, as the OS reports it. */
  size: number;
  /**
   * Permission bits (`st_mode & 0o7777`), as every ipckit `stat()` reports them. The type bits
   * are not kept: they always say "regular file", since nothing else can be opened as a mapping.
   */
  mode: number;
  uid: number;
  gid: number;
}

// Which mapping an ArrayBuffer belongs to, and each mapping's native handle: for the waits and
// locks that live inside mapped memory (lib/futex.ts, lib/mutex.ts, ...).
// Weak both ways: the addon holds the ArrayBuffer strongly while the handle lives, so a strong
// value here would keep every Mapping (and its descriptor) alive forever.
const mappingOfBuffer = new WeakMap<ArrayBufferLike, WeakRef<Mapping>>();
const nativeOfMapping = new WeakMap<Mapping, NativeMapping>();
const slotOfMapping = new WeakMap<Mapping, number>();

/** @internal The mapping an ArrayBuffer is the memory of, if any. */
export function mappingOf(buffer: ArrayBufferLike): Mapping | undefined {
  return mappingOfBuffer.get(buffer)?.deref();
}

/** @internal A mapping's native handle; throws ERR_IPC_CLOSED once it is closed. */
export function nativeOf(mapping: Mapping): NativeMapping {
  const native = nativeOfMapping.get(mapping);
  if (native === undefined || mapping.closed) throw closedError('shared memory');
  return native;
}

/** @internal The number the addon's futex and lock calls know this mapping by; ERR_IPC_CLOSED once closed. */
export function slotOf(mapping: Mapping): number {
  const slot = slotOfMapping.get(mapping);
  if (slot === undefined || mapping.closed) throw closedError('shared memory');
  return slot;
}

/**
 * @internal The slot even after close(): for unlocking a mutex held in the memory (the addon
 * keeps such memory mapped until then).
 */
export function slotOfClosed(mapping: Mapping): number | undefined {
  return slotOfMapping.get(mapping);
}

/** What `SharedObject.place` records of each object placed in a mapping. */
interface Placed {
  start: number;
  end: number;
  kind: string;
}

// Per mapping: the objects placed in it (sorted by start), and what to settle when it closes.
const placedIn = new WeakMap<Mapping, Placed[]>();
const closeHooks = new WeakMap<Mapping, Set<() => void>>();

/**
 * @internal Records an object of `kind` over [start, start + size) of `mapping`. The same kind at
 * the same offset is the same object (opened twice, or re-created); anything else that overlaps
 * is refused with ERR_IPC_OBJECT_OVERLAP: two objects sharing bytes corrupt each other, and a
 * held mutex whose bytes are overwritten is reported, not survived quietly. With `record` false,
 * only checks.
 */
export function placeObject(mapping: Mapping, start: number, size: number, kind: string, record = true): void {
  let placed = placedIn.get(mapping);
  if (placed === undefined) {
    placed = [];
    placedIn.set(mapping, placed);
  }
  const end = start + size;
  // The first object that ends after `start`: the only candidates for an overlap begin there.
  let lo = 0;
  let hi = placed.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (placed[mid].end <= start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < placed.length && placed[i].start < end; i++) {
    const other = placed[i];
    if (other.start === start && other.end === end && other.kind === kind) return;
    throw new IpcError(
      'ERR_IPC_OBJECT_OVERLAP',
      `A ${kind} at bytes ${start} to ${end} would overlap the ${other.kind} at bytes ${other.start} to ${other.end} of this mapping`,
    );
  }
  if (record) placed.splice(lo, 0, { start, end, kind });
}

/** @internal Calls `hook` when `mapping` closes; returns a function that cancels it. */
export function onMappingClose(mapping: Mapping, hook: () => void): () => void {
  let hooks = closeHooks.get(mapping);
  if (hooks === undefined) {
    hooks = new Set();
    closeHooks.set(mapping, hooks);
  }
  hooks.add(hook);
  return () => hooks.delete(hook);
}

/** Base class of {@link SharedMemory} and {@link MappedFile}. */
export abstract class Mapping {
  #native: NativeMapping | null;
  #arrayBuffer: ArrayBuffer | null = null;
  #buffer: Buffer | null = null;
  readonly #size: number;
  readonly #what: string;

  /** @internal */
  protected constructor(token: symbol, native: NativeMapping, what: string) {
    if (token !== CONSTRUCT) throw illegalConstructor();
    if (native.size > bufferConstants.MAX_LENGTH) {
      // Node exposes external memory through at most MAX_LENGTH bytes (4 GiB on Node 20).
      native.close();
      throw outOfRange('size', `at most ${bufferConstants.MAX_LENGTH} bytes (buffer.constants.MAX_LENGTH) to be mapped`, native.size);
    }
    this.#native = native;
    nativeOfMapping.set(this, native);
    slotOfMapping.set(this, native.slot);
    this.#size = native.size;
    this.#what = what;
  }

  /** @internal Throws `ERR_IPC_CLOSED` after `close()`. */
  protected get native(): NativeMapping {
    if (this.#native === null) throw closedError(this.#what);
    return this.#native;
  }

  #memory(): ArrayBuffer {
    const native = this.native;
    if (this.#arrayBuffer === null) {
      this.#arrayBuffer = native.arrayBuffer();
      mappingOfBuffer.set(this.#arrayBuffer, new WeakRef(this));
    }
    return this.#arrayBuffer;
  }

  /** The mapping's length in bytes (fixed when the handle opened). */
  get size(): number {
    // eslint-disable-next-line @typescript-eslint/no-unused-expressions -- read for its check: throws once closed
    this.native;
    return this.#size;
  }

  /** Whether this handle was opened read-only (writes through it stay private to this process). */
  get readOnly(): boolean {
    return this.native.readOnly;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#native === null;
  }

  /**
   * A zero-copy Buffer over the whole mapping. The same Buffer is returned every time; after
   * `close()` it (and every view) has length 0.
   */
  get buffer(): Buffer {
    const memory = this.#memory();
    this.#buffer ??= Buffer.from(memory, 0, this.#size);
    return this.#buffer;
  }

  /**
   * A typed array or DataView over the mapping, without copying.
   * @param Ctor a typed array constructor (`Int32Array`, `Float64Array`, ...) or `DataView`
   * @param byteOffset where the view starts; a multiple of the element size
   * @param length elements in the view (bytes for DataView); defaults to as many as fit
   */
  view<C extends ViewConstructor>(Ctor: C, byteOffset = 0, length?: number): InstanceType<C> {
    if (!viewConstructors.has(Ctor)) {
      throw invalidArgType('Ctor', 'a typed array constructor or DataView', Ctor);
    }
    const memory = this.#memory();
    const elementSize = Ctor === DataView ? 1 : (Ctor as Exclude<ViewConstructor, DataViewConstructor>).BYTES_PER_ELEMENT;
    if (typeof byteOffset !== 'number') throw invalidArgType('byteOffset', 'of type number', byteOffset);
    if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset > this.#size) {
      throw outOfRange('byteOffset', `an integer from 0 to ${this.#size}`, byteOffset);
    }
    if (byteOffset % elementSize !== 0) {
      throw outOfRange('byteOffset', `a multiple of ${elementSize} for ${Ctor.name}`, byteOffset);
    }
    const fits = Math.floor((this.#size - byteOffset) / elementSize);
    let count = fits;
    if (length !== undefined) {
      if (typeof length !== 'number') throw invalidArgType('length', 'of type number', length);
      if (!Number.isInteger(length) || length < 0 || length > fits) {
        throw outOfRange('length', `an integer from 0 to ${fits} (elements that fit after byteOffset ${byteOffset})`, length);
      }
      count = length;
    }
    try {
      return new (Ctor as new (buffer: ArrayBuffer, byteOffset: number, length: number) => InstanceType<C>)(memory, byteOffset, count);
    } catch (error) {
      // The engine's own limit on one typed array's length.
      throw outOfRange('length', `small enough for one ${Ctor.name} (${(error as Error).message})`, count);
    }
  }

  /** Writes the mapping's dirty pages back (msync with MS_SYNC). */
  flush(): void {
    this.native.flush();
  }

  /** The OS's view of the object: size, permission bits, owner. */
  stat(): MappingStats {
    const { size, mode, uid, gid } = this.native.stat();
    return { size, mode: mode & 0o7777, uid, gid };
  }

  /**
   * Detaches every Buffer and view over the mapping (they read as empty from now on), unmaps it
   * and releases the descriptor. Idempotent. Never removes the object's name.
   */
  close(): void {
    const native = this.#native;
    if (native === null) return;
    this.#native = null;
    this.#arrayBuffer = null;
    this.#buffer = null;
    native.close();
    placedIn.delete(this);
    const hooks = closeHooks.get(this);
    closeHooks.delete(this);
    for (const hook of hooks ?? []) hook();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// What Mutex, Condition and Barrier share: an object of a fixed layout (native/include/ipckit/
// sync.h) at an offset of a mapping, and the waiting model.
import { CONSTRUCT, ErrorCodes, illegalConstructor, invalidArgType, invalidArgValue, IpcError, outOfRange } from './errors';
import { nativeSync, wait, wake } from './futex';
import { Mapping, placeObject, slotOf } from './mapping';
import { validateInteger } from './validate';
import { Waits } from './waiting';

// openOrCreate's claim on an object's first word, its magic: the caller that changes it from 0 to
// CLAIM ("IPK?") initialises the object, whose init writes the magic last (sync.h); whoever finds
// CLAIM waits for that magic. So among openOrCreate callers exactly one initialises, and nobody
// opens half-initialised bytes.
const CLAIM = 0x3f4b5049;
// How long to wait for a claim to turn into an object. Initialising takes microseconds; a claim
// that stays far longer belongs to a process that died between its claim and its magic.
const CLAIM_PATIENCE_MS = 1000;

export abstract class SharedObject {
  readonly #memory: Mapping;
  readonly #offset: number;
  /** @internal */
  protected readonly waits = new Waits();
  readonly #pending = new Set<number>();
  #created = false;

  /** @internal */
  protected constructor(token: symbol, memory: Mapping, byteOffset: number) {
    if (token !== CONSTRUCT) throw illegalConstructor();
    this.#memory = memory;
    this.#offset = byteOffset;
  }

  /** @internal Validates where an object of `size` bytes is to live. */
  protected static place(memory: unknown, byteOffset: unknown, size: number, kind: string): { memory: Mapping; offset: number } {
    if (!(memory instanceof Mapping)) throw invalidArgType('memory', 'a SharedMemory or MappedFile', memory);
    slotOf(memory); // ERR_IPC_CLOSED if closed
    if (memory.readOnly) {
      // A read-only handle maps private copy-on-write pages: the first write would detach this
      // process's copy of the object from everyone else's.
      throw invalidArgValue('memory', 'read-only mapping', 'must be writable: a lock in a private copy-on-write mapping would not be shared');
    }
    const { alignment } = nativeSync().layout;
    const offset = validateInteger(byteOffset, 'byteOffset', 0, Math.max(0, memory.size - size));
    if (memory.size < size) throw outOfRange('byteOffset', `room for ${size} bytes, but the mapping has ${memory.size}`, byteOffset);
    if (offset % alignment !== 0) throw outOfRange('byteOffset', `a multiple of ${alignment}`, byteOffset);
    placeObject(memory, offset, size, kind, false);
    return { memory, offset };
  }

  /**
   * @internal openOrCreate of every kind, at a place `place()` validated: opens the object there
   * when `valid()`, initialises one with `init()` when the first word is 0, refuses anything else.
   * Returns whether it initialised.
   */
  protected static openOrInit(memory: Mapping, offset: number, kind: string, init: () => void, valid: () => boolean): boolean {
    const word = memory.view(Int32Array, offset, 1);
    const deadline = performance.now() + CLAIM_PATIENCE_MS;
    for (;;) {
      const seen = Atomics.compareExchange(word, 0, 0, CLAIM);
      if (seen === 0) {
        try {
          init();
        } catch (error) {
          Atomics.compareExchange(word, 0, CLAIM, 0);
          wake(word, 0);
          throw error;
        }
        wake(word, 0);
        return true;
      }
      if (seen !== CLAIM) {
        if (valid()) return false;
        // Bytes that are neither zero nor this kind of object may be another object or someone's
        // data: only create() overwrites on purpose.
        throw invalidArgValue(
          'byteOffset',
          offset,
          `holds neither an ipckit ${kind} (layout version 1) nor zeroed memory, so openOrCreate() leaves it alone (create() overwrites)`,
        );
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new IpcError(
          ErrorCodes.INVALID_OBJECT,
          `The ${kind} at byte ${offset} was claimed by an openOrCreate() that never finished initialising it (its process died?): create() initialises it afresh`,
        );
      }
      wait(word, 0, CLAIM, { timeout: left });
    }
  }

  /** @internal Records the object in its mapping, once it has been created or found there. */
  protected placed(kind: string, size: number, created: boolean): this {
    placeObject(this.#memory, this.#offset, size, kind);
    this.#created = created;
    return this;
  }

  /** Whether this handle initialised the object: `true` after `create`, `false` after `open`, and after `openOrCreate` whether it found no object there. */
  get created(): boolean {
    return this.#created;
  }

  /** The shared memory the object lives in. */
  get memory(): Mapping {
    return this.#memory;
  }

  /** Where in it the object starts. */
  get byteOffset(): number {
    return this.#offset;
  }

  /** @internal The mapping's slot for the addon (throws ERR_IPC_CLOSED once the memory is closed). */
  protected get native(): number {
    return slotOf(this.#memory);
  }

  /** Lets a pending wait keep the process alive (the default). */
  ref(): this {
    return this.#setReferenced(true);
  }

  /** Lets the process exit while a wait on this object is pending. */
  unref(): this {
    return this.#setReferenced(false);
  }

  #setReferenced(referenced: boolean): this {
    this.waits.setReferenced(referenced);
    if (this.#pending.size > 0 && !this.#memory.closed) {
      const native = this.native;
      for (const id of this.#pending) nativeSync().waitRef(native, id, referenced);
    }
    return this;
  }

  /** @internal Runs one native wait under the object's ref state, timeout and signal. */
  protected sleep(
    timeout: number | undefined,
    signal: AbortSignal | undefined,
    start: (native: number, id: number, timeoutMs: number, referenced: boolean) => Promise<number>,
  ): Promise<number> {
    const native = this.native;
    const sync = nativeSync();
    let opId = 0;
    return this.waits
      .run(
        timeout,
        signal,
        (id, ms) => {
          opId = id;
          const promise = start(native, id, ms, this.waits.referenced);
          this.#pending.add(id);
          return promise;
        },
        (id, reason) => sync.waitStop(native, id, reason),
      )
      .finally(() => this.#pending.delete(opId));
  }
}

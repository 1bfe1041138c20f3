import { closedError, CONSTRUCT, constructing, ErrorCodes, invalidArgValue, IpcError } from './errors';
import { nativeSync, timeoutMs } from './futex';
import { onMappingClose, slotOfClosed, type Mapping } from './mapping';
import { SharedObject } from './shared-object';
import { validateObject } from './validate';
import { timeoutError, validateWaitOptions, type WaitOptions } from './waiting';

/** What a lock reports. */
export interface LockResult {
  /**
   * The previous holder died while holding the mutex (SIGKILL included). The lock is yours, but
   * the data it protects may be half-updated: repair it, then call `markConsistent()` (else the
   * next `unlock()` leaves the mutex permanently unusable, `ERR_IPC_MUTEX_NOT_RECOVERABLE`).
   */
  ownerDied: boolean;
}

const TIMED_OUT = 2;
const OWNER_DIED = 3;
const BUSY = -16;
const NO_WAIT_OPTIONS = { timeout: undefined, signal: undefined };

/** @internal How Condition tells a Mutex that the addon released or re-took it during a wait. */
export let mutexState: {
  released(mutex: Mutex): void;
  relocked(mutex: Mutex, ownerDied: boolean): void;
};

/**
 * A robust, process-shared mutex in shared memory: the `ipckit_mutex_t` of
 * native/include/ipckit/sync.h (64 bytes, 8-byte aligned), which C programs lock with the same
 * header. Ownership belongs to the JavaScript thread that locked it: `unlock()` from another
 * thread or process fails. Within one thread, several `lock()` calls on one Mutex wait their turn.
 */
export class Mutex extends SharedObject {
  #held = false;
  #busy = false; // held, or a lock() of this thread is acquiring it
  #ownerDied = false;
  #queue: (() => void)[] = [];

  private constructor(token: symbol, memory: Mapping, byteOffset: number) {
    super(constructing(token), memory, byteOffset);
  }

  /** The object's size in bytes (64). */
  static get SIZE(): number {
    return nativeSync().layout.mutexSize;
  }

  /** Initialises a new, unlocked mutex at `byteOffset` (a multiple of 8) of `memory`. */
  static create(memory: Mapping, byteOffset: number): Mutex {
    const { memory: m, offset } = SharedObject.place(memory, byteOffset, Mutex.SIZE, 'Mutex');
    const mutex = new Mutex(CONSTRUCT, m, offset);
    nativeSync().mutexInit(mutex.native, offset);
    return mutex.placed('Mutex', Mutex.SIZE);
  }

  /** Attaches to a mutex another process (or `create`) initialised at `byteOffset`. */
  static open(memory: Mapping, byteOffset: number): Mutex {
    const { memory: m, offset } = SharedObject.place(memory, byteOffset, Mutex.SIZE, 'Mutex');
    const mutex = new Mutex(CONSTRUCT, m, offset);
    if (!nativeSync().mutexValid(mutex.native, offset)) {
      throw invalidArgValue('byteOffset', byteOffset, 'does not hold an ipckit Mutex (layout version 1)');
    }
    return mutex.placed('Mutex', Mutex.SIZE);
  }

  /** Whether this thread holds the mutex through this handle. */
  get held(): boolean {
    return this.#held;
  }

  /** Whether the current hold began with the previous holder's death (until markConsistent/unlock). */
  get ownerDied(): boolean {
    return this.#ownerDied;
  }

  #acquired(code: number): LockResult {
    this.#held = true;
    this.#ownerDied = code === OWNER_DIED;
    return { ownerDied: this.#ownerDied };
  }

  /** Takes the mutex if it is free now; never waits. */
  tryLock(): boolean {
    const native = this.native; // ERR_IPC_CLOSED first
    if (this.#busy) return false;
    const code = nativeSync().mutexTryLock(native, this.byteOffset);
    if (code === BUSY) return false;
    this.#busy = true;
    this.#acquired(code);
    return true;
  }

  /**
   * Blocks the calling thread until the mutex is taken (or the timeout passes: ERR_IPC_TIMEOUT).
   * For worker threads and scripts.
   */
  lockSync(options?: { timeout?: number }): LockResult {
    const timeout = options === undefined ? undefined : validateWaitOptions(validateObject<WaitOptions>(options, 'options')).timeout;
    if (this.#busy) throw new IpcError('ERR_IPC_MUTEX_HELD', 'this thread already holds (or is acquiring) this mutex');
    const code = nativeSync().mutexLock(this.native, this.byteOffset, timeoutMs(timeout));
    if (code === TIMED_OUT) throw timeoutError('lock');
    this.#busy = true;
    return this.#acquired(code);
  }

  /**
   * Takes the mutex, waiting without blocking the event loop. The acquiring happens on this
   * thread, so this thread owns it. Rejects with ERR_IPC_TIMEOUT / ERR_IPC_ABORTED /
   * ERR_IPC_CLOSED (the shared memory was closed).
   */
  async lock(options?: WaitOptions): Promise<LockResult> {
    const { timeout, signal } = options === undefined ? NO_WAIT_OPTIONS : validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
    const deadline = timeout === undefined ? undefined : performance.now() + timeout;
    const remaining = () => (deadline === undefined ? undefined : Math.max(0, deadline - performance.now()));
    if (signal?.aborted) throw new IpcError(ErrorCodes.ABORTED, 'The lock was aborted');
    void this.native; // ERR_IPC_CLOSED before queueing behind anything
    // Earlier lock() calls of this thread on this mutex go first.
    if (this.#busy) await this.#turn(remaining(), signal);
    this.#busy = true;
    const sync = nativeSync();
    let slept = false;
    for (;;) {
      let code: number;
      try {
        code = sync.mutexTryLock(this.native, this.byteOffset);
      } catch (error) {
        this.#giveUp();
        throw error;
      }
      if (code !== BUSY) {
        // Having slept, we may have taken the one wake-up an unlock gave: mark the word so the
        // next unlock wakes whoever else sleeps on it.
        if (slept) sync.mutexMarkWaiters(this.native, this.byteOffset);
        return this.#acquired(code);
      }
      const left = remaining();
      if (left === 0) {
        this.#giveUp();
        throw timeoutError('lock');
      }
      try {
        await this.sleep(left, signal, (native, id, referenced) => sync.mutexSleepAsync(native, id, this.byteOffset, referenced));
      } catch (error) {
        this.#giveUp();
        throw error;
      }
      slept = true;
    }
  }

  // Waits until no earlier lock() of this thread holds or waits for this mutex.
  #turn(timeout: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const drop = () => {
        this.#queue = this.#queue.filter((e) => e !== entry);
        disarm();
        unhook();
      };
      const entry = () => {
        drop();
        resolve();
      };
      const disarm = this.waits.arm(timeout, signal, (code) => {
        drop();
        reject(new IpcError(code, code === ErrorCodes.TIMEOUT ? 'The lock timed out' : 'The lock was aborted'));
      });
      // Closing the memory settles a lock() queued behind another one too, not just the one
      // sleeping in the addon.
      const unhook = onMappingClose(this.memory, () => {
        drop();
        reject(closedError('shared memory'));
      });
      this.#queue.push(entry);
    });
  }

  // A lock() that failed: the next waiting lock() of this thread gets its turn.
  #giveUp(): void {
    this.#busy = false;
    this.#next();
  }

  #next(): void {
    const next = this.#queue.shift();
    if (next !== undefined) {
      this.#busy = true; // reserved for it, so tryLock() cannot slip in between
      next();
    }
  }

  /**
   * Releases the mutex (ERR_IPC_MUTEX_NOT_OWNER if this thread does not hold it). Allowed after
   * the memory was closed: memory is kept mapped while a mutex in it is held.
   */
  unlock(): void {
    const native = this.memory.closed ? slotOfClosed(this.memory) : this.native;
    if (native === undefined) throw closedError('shared memory');
    try {
      nativeSync().mutexUnlock(native, this.byteOffset);
    } catch (error) {
      // The addon released it all the same (its bytes had been overwritten): say so, unheld.
      if ((error as { code?: string }).code !== ErrorCodes.MUTEX_CORRUPT) throw error;
      this.#released();
      throw error;
    }
    this.#released();
  }

  #released(): void {
    this.#held = false;
    this.#busy = false;
    this.#ownerDied = false;
    this.#next();
  }

  static {
    mutexState = {
      released: (mutex) => mutex.#released(),
      relocked: (mutex, ownerDied) => {
        mutex.#held = true;
        mutex.#busy = true;
        mutex.#ownerDied = ownerDied;
      },
    };
  }

  /** After `ownerDied`: declares the protected data repaired, so the mutex stays usable. */
  markConsistent(): void {
    nativeSync().mutexConsistent(this.native, this.byteOffset);
    this.#ownerDied = false;
  }
}

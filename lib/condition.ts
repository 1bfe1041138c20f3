import { syncConstants } from './binding';
import { CONSTRUCT, constructing, ErrorCodes, invalidArgType, invalidArgValue, IpcError } from './errors';
import { FUTEX_TIMED_OUT, nativeSync, type WaitResult } from './futex';
import type { Mapping } from './mapping';
import { Mutex, mutexState } from './mutex';
import { SharedObject } from './shared-object';
import { validateObject } from './validate';
import { abortedError, timeoutMs, validateWaitOptions, type WaitOptions } from './waiting';

/**
 * A condition variable in shared memory (`ipckit_cond_t`, 32 bytes), used with a {@link Mutex}
 * in the same mapping, by Node and C alike. As with any condition variable, wake-ups can be
 * spurious: wait in a loop that re-checks the condition.
 */
export class Condition extends SharedObject {
  private constructor(token: symbol, memory: Mapping, byteOffset: number) {
    super(constructing(token), memory, byteOffset);
  }

  /** The object's size in bytes (32). */
  static get SIZE(): number {
    return syncConstants().condition.size;
  }

  /** Initialises a new condition at `byteOffset` (a multiple of 8) of `memory`. */
  static create(memory: Mapping, byteOffset: number): Condition {
    const { memory: m, offset } = SharedObject.place(memory, byteOffset, Condition.SIZE, 'Condition');
    const condition = new Condition(CONSTRUCT, m, offset);
    nativeSync().condInit(condition.native, offset);
    return condition.placed('Condition', Condition.SIZE, true);
  }

  /** Attaches to a condition initialised at `byteOffset`. */
  static open(memory: Mapping, byteOffset: number): Condition {
    const { memory: m, offset } = SharedObject.place(memory, byteOffset, Condition.SIZE, 'Condition');
    const condition = new Condition(CONSTRUCT, m, offset);
    if (!nativeSync().condValid(condition.native, offset)) {
      throw invalidArgValue('byteOffset', byteOffset, `does not hold an ipckit Condition (layout version ${syncConstants().version})`);
    }
    return condition.placed('Condition', Condition.SIZE, false);
  }

  /**
   * Opens the condition at `byteOffset` if there is one, else initialises one on unused bytes
   * (first word 0), exactly as `Mutex.openOrCreate` does.
   */
  static openOrCreate(memory: Mapping, byteOffset: number): Condition {
    const { memory: m, offset } = SharedObject.place(memory, byteOffset, Condition.SIZE, 'Condition');
    const condition = new Condition(CONSTRUCT, m, offset);
    const sync = nativeSync();
    const created = SharedObject.openOrInit(
      m,
      offset,
      'Condition',
      () => sync.condInit(condition.native, offset),
      () => sync.condValid(condition.native, offset),
    );
    return condition.placed('Condition', Condition.SIZE, created);
  }

  #check(mutex: unknown): Mutex {
    if (!(mutex instanceof Mutex)) throw invalidArgType('mutex', 'a Mutex', mutex);
    if (mutex.memory !== this.memory) throw invalidArgValue('mutex', 'Mutex', 'must live in the same shared memory handle as the condition');
    if (!mutex.held) throw new IpcError('ERR_IPC_MUTEX_NOT_OWNER', 'wait() needs the mutex held by this thread');
    return mutex;
  }

  /**
   * Releases `mutex` (held by this thread), blocks this thread until notified or the timeout,
   * then re-acquires it. For worker threads and scripts. On timeout it returns `'timed-out'`,
   * the mutex held again, and does not throw: like `Atomics.wait`, on purpose (the caller's loop
   * re-checks its condition either way).
   */
  waitSync(mutex: Mutex, options: { timeout?: number } = {}): Exclude<WaitResult, 'not-equal'> {
    const m = this.#check(mutex);
    const { timeout } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
    let flags: number;
    try {
      flags = nativeSync().condWait(this.native, this.byteOffset, m.byteOffset, timeoutMs(timeout));
    } catch (error) {
      // Released, but not taken again (its bytes were overwritten, or it became unrecoverable)?
      if (!nativeSync().mutexHeld(this.native, m.byteOffset)) mutexState.released(m);
      throw error;
    }
    // Re-taking the mutex may find its holder died meanwhile: that must reach the caller, whose
    // plain unlock() would otherwise make the mutex unrecoverable for everyone.
    const { condWaitFlags } = syncConstants();
    mutexState.relocked(m, (flags & condWaitFlags.OWNER_DIED) !== 0);
    return (flags & condWaitFlags.TIMED_OUT) !== 0 ? 'timed-out' : 'ok';
  }

  /**
   * Releases `mutex`, waits for a notify without blocking the event loop, and re-acquires the
   * mutex before settling, also when it times out (resolves `'timed-out'` and does not reject,
   * as `waitSync()` returns it) or is aborted (rejects with ERR_IPC_ABORTED, the mutex held
   * again). A signal aborted before the call rejects at once, without releasing the mutex. If re-acquiring finds that the mutex's holder died,
   * `mutex.ownerDied` is true, as after `lock()`.
   */
  async wait(mutex: Mutex, options: WaitOptions = {}): Promise<Exclude<WaitResult, 'not-equal'>> {
    const m = this.#check(mutex);
    const { timeout, signal } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
    if (signal?.aborted) throw abortedError('condition wait');
    const sync = nativeSync();
    const seqAt = this.byteOffset + syncConstants().condition.seqOffset;
    const seq = sync.condPrepare(this.native, this.byteOffset);
    let result: Exclude<WaitResult, 'not-equal'> = 'ok';
    let failure: unknown;
    try {
      m.unlock();
    } catch (error) {
      // Not released (not held), or released because its bytes were overwritten: either way
      // there is nothing to wait for with it.
      sync.condDone(this.native, this.byteOffset);
      throw error;
    }
    try {
      const woke = await this.sleep(timeout, signal, (native, id, ms, referenced) => sync.futexWaitAsync(native, id, ms, seqAt, seq, referenced));
      if (woke === FUTEX_TIMED_OUT) result = 'timed-out';
    } catch (error) {
      if ((error as { code?: string }).code === ErrorCodes.TIMEOUT) result = 'timed-out';
      else failure = error;
    } finally {
      if (!this.memory.closed) sync.condDone(this.native, this.byteOffset);
    }
    if (!this.memory.closed && !m.held) await m.lock();
    if (failure !== undefined) throw failure;
    return result;
  }

  /** Wakes one waiter, in any process. Returns how many were woken (0 or 1). */
  notify(): number {
    return nativeSync().condNotify(this.native, this.byteOffset, false);
  }

  /** Wakes every waiter. Returns how many were woken. */
  notifyAll(): number {
    return nativeSync().condNotify(this.native, this.byteOffset, true);
  }
}

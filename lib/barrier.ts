import { syncConstants } from './binding';
import { CONSTRUCT, constructing, ErrorCodes, invalidArgValue } from './errors';
import { FUTEX_TIMED_OUT, nativeSync } from './futex';
import type { Mapping } from './mapping';
import { SharedObject } from './shared-object';
import { validateInteger, validateObject } from './validate';
import { abortedError, timeoutError, timeoutMs, validateWaitOptions, type WaitOptions } from './waiting';

/**
 * A reusable barrier in shared memory (`ipckit_barrier_t`, 32 bytes): `parties` processes or
 * threads (Node or C) wait until all have arrived, then all go on and it is ready for the next
 * round. A wait that times out or is aborted takes its arrival back, so the barrier stays usable.
 */
export class Barrier extends SharedObject {
  private constructor(token: symbol, memory: Mapping, byteOffset: number) {
    super(constructing(token), memory, byteOffset);
  }

  /** The object's size in bytes (32). */
  static get SIZE(): number {
    return syncConstants().barrier.size;
  }

  /** Initialises a barrier for `parties` (1 to 65535) at `byteOffset` (a multiple of 8). */
  static create(memory: Mapping, byteOffset: number, parties: number): Barrier {
    const n = validateInteger(parties, 'parties', 1, syncConstants().barrier.maxParties);
    const { memory: m, offset } = SharedObject.place(memory, byteOffset, Barrier.SIZE, 'Barrier');
    const barrier = new Barrier(CONSTRUCT, m, offset);
    nativeSync().barrierInit(barrier.native, offset, n);
    return barrier.placed('Barrier', Barrier.SIZE, true);
  }

  /** Attaches to a barrier initialised at `byteOffset`. */
  static open(memory: Mapping, byteOffset: number): Barrier {
    const { memory: m, offset } = SharedObject.place(memory, byteOffset, Barrier.SIZE, 'Barrier');
    const barrier = new Barrier(CONSTRUCT, m, offset);
    if (nativeSync().barrierParties(barrier.native, offset) === 0) {
      throw invalidArgValue('byteOffset', byteOffset, `does not hold an ipckit Barrier (layout version ${syncConstants().version})`);
    }
    return barrier.placed('Barrier', Barrier.SIZE, false);
  }

  /**
   * Opens the barrier at `byteOffset` if there is one, else initialises one for `parties` on
   * unused bytes (first word 0), exactly as `Mutex.openOrCreate` does. A barrier found there for
   * another number of parties is refused (ERR_INVALID_ARG_VALUE): the callers disagree.
   */
  static openOrCreate(memory: Mapping, byteOffset: number, parties: number): Barrier {
    const n = validateInteger(parties, 'parties', 1, 65535);
    const { memory: m, offset } = SharedObject.place(memory, byteOffset, Barrier.SIZE, 'Barrier');
    const barrier = new Barrier(CONSTRUCT, m, offset);
    const sync = nativeSync();
    const created = SharedObject.openOrInit(
      m,
      offset,
      'Barrier',
      () => sync.barrierInit(barrier.native, offset, n),
      () => sync.barrierParties(barrier.native, offset) !== 0,
    );
    const found = sync.barrierParties(barrier.native, offset);
    if (found !== n) throw invalidArgValue('parties', n, `does not match the Barrier at byte ${offset}, which is for ${found} parties`);
    return barrier.placed('Barrier', Barrier.SIZE, created);
  }

  /** How many parties meet at the barrier. */
  get parties(): number {
    return nativeSync().barrierParties(this.native, this.byteOffset);
  }

  /**
   * Blocks this thread until all parties have arrived. Returns `true` for exactly one party of
   * each round (the "serial" one). Throws ERR_IPC_TIMEOUT after taking the arrival back.
   */
  waitSync(options: { timeout?: number } = {}): boolean {
    const { timeout } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
    const code = nativeSync().barrierWait(this.native, this.byteOffset, timeoutMs(timeout));
    const { results } = syncConstants();
    if (code === results.TIMED_OUT) throw timeoutError('barrier wait');
    return code === results.SERIAL;
  }

  /** As `waitSync()`, without blocking the event loop; resolves `true` for the serial party. */
  async wait(options: WaitOptions = {}): Promise<boolean> {
    const { timeout, signal } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
    if (signal?.aborted) throw abortedError('barrier wait');
    const sync = nativeSync();
    const { stateOffset, generationMask } = syncConstants().barrier;
    const arrived = sync.barrierArrive(this.native, this.byteOffset);
    if (arrived < 0) return true;
    const generation = (arrived & generationMask) >>> 0;
    const deadline = timeout === undefined ? undefined : performance.now() + timeout;
    for (;;) {
      const state = sync.barrierState(this.native, this.byteOffset);
      if ((state & generationMask) >>> 0 !== generation) return false;
      const left = deadline === undefined ? undefined : Math.max(0, deadline - performance.now());
      try {
        if (left === 0) throw timeoutError('barrier wait');
        // The futex keeps the deadline; running out of it resolves 2 (as Atomics.waitAsync would).
        const woke = await this.sleep(left, signal, (native, id, ms, referenced) =>
          sync.futexWaitAsync(native, id, ms, this.byteOffset + stateOffset, state | 0, referenced),
        );
        if (woke === FUTEX_TIMED_OUT) throw timeoutError('barrier wait');
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code !== ErrorCodes.TIMEOUT && code !== ErrorCodes.ABORTED) throw error;
        // Take the arrival back, unless the round completed meanwhile: then we were released.
        if (sync.barrierWithdraw(this.native, this.byteOffset, generation)) throw error;
        return false;
      }
    }
  }
}

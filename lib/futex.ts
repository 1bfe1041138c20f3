// wait / waitAsync / wake on a 32-bit word of shared memory: futexes without the private flag, so
// C programs and other processes wait and wake on the very same words.
import { binding, requireFeature, type NativeSync } from './binding';
import { invalidArgType, invalidArgValue } from './errors';
import { mappingOf, slotOf } from './mapping';
import { validateInteger, validateObject } from './validate';
import { abortedError, timeoutMs, validateWaitOptions, Waits, type WaitOptions } from './waiting';

/** How a wait ended: woken, the word did not hold `expected`, or the timeout passed. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

/** @internal */
export function nativeSync(): NativeSync {
  requireFeature('sync', 'waits in shared memory');
  return binding.sync!;
}

/** @internal What futexWaitAsync resolves when its deadline passed (IPCKIT_TIMED_OUT, from the addon). */
export const FUTEX_TIMED_OUT = binding.constants.sync?.results.TIMED_OUT ?? 2;

const results: WaitResult[] = ['ok', 'not-equal', 'timed-out'];

interface Located {
  slot: number;
  offset: number;
  index: number;
}

// Where each Int32Array lives, resolved once: waits and wakes sit on hot paths.
const places = new WeakMap<Int32Array, { mapping: NonNullable<ReturnType<typeof mappingOf>>; base: number }>();

function locate(array: unknown, index: unknown): Located {
  let place = places.get(array as Int32Array);
  if (place === undefined) {
    if (!(array instanceof Int32Array)) throw invalidArgType('array', 'an Int32Array', array);
    const mapping = mappingOf(array.buffer);
    if (mapping === undefined) {
      throw invalidArgValue('array', 'Int32Array', 'must be a view of a SharedMemory or MappedFile (other memory is private to this process)');
    }
    place = { mapping, base: array.byteOffset };
    places.set(array, place);
  }
  const slot = slotOf(place.mapping);
  const length = (array as Int32Array).length;
  const i =
    typeof index === 'number' && index >= 0 && index < length && Number.isInteger(index) ? index : validateInteger(index, 'index', 0, length - 1);
  return { slot, offset: place.base + i * 4, index: i };
}

function validateExpected(expected: unknown): number {
  if (typeof expected === 'number' && (expected | 0) === expected) return expected;
  return validateInteger(expected, 'expected', -(2 ** 31), 2 ** 32 - 1) | 0;
}

const freeWaits = new Waits();
const DEFAULT_SPIN_US = 50;

/** Options of `waitAsync`. */
export interface WaitAsyncOptions extends WaitOptions {
  /**
   * Microseconds (0 to 1000, default 50) to wait on the calling thread before handing the wait
   * to a waiter thread. A quick answer then costs about what a synchronous wait costs; the event
   * loop is held for at most this long. 0: never block.
   */
  spin?: number;
}

/**
 * Blocks the calling thread while `array[index] === expected`, until `wake()` (from any process)
 * or the timeout. For worker threads and scripts; the event loop does not run meanwhile.
 */
export function wait(array: Int32Array, index: number, expected: number, options?: { timeout?: number }): WaitResult {
  const { slot, offset } = locate(array, index);
  const value = validateExpected(expected);
  const timeout = options === undefined ? undefined : validateWaitOptions(validateObject<WaitOptions>(options, 'options')).timeout;
  return results[nativeSync().futexWait(slot, offset, value, timeoutMs(timeout))];
}

/**
 * As `wait()`, without blocking: resolves when woken, at once with `'not-equal'`, or with
 * `'timed-out'`. An AbortSignal rejects it with `ERR_IPC_ABORTED`; closing the shared memory
 * rejects it with `ERR_IPC_CLOSED`. The sleeping is done on one of the addon's waiter threads.
 */
export function waitAsync(array: Int32Array, index: number, expected: number, options: WaitAsyncOptions = {}): Promise<WaitResult> {
  try {
    const { slot, offset, index: i } = locate(array, index);
    const value = validateExpected(expected);
    const { timeout, signal } = validateWaitOptions(validateObject<WaitAsyncOptions>(options, 'options'));
    if (signal?.aborted) return Promise.reject(abortedError('wait'));
    if (Atomics.load(array, i) !== value) return Promise.resolve('not-equal');
    if (timeout === 0) return Promise.resolve('timed-out');
    const sync = nativeSync();
    // A peer that answers within microseconds is waited for right here, which costs one context
    // switch instead of three (a waiter thread, then the event loop): the difference between a
    // 10 us and a 40 us round trip on one CPU. The event loop is held for at most `spin` us.
    const spin = options.spin === undefined ? DEFAULT_SPIN_US : validateInteger(options.spin, 'options.spin', 0, 1000);
    if (spin > 0) {
      const brief = sync.futexWaitBrief(slot, offset, value, timeout === undefined ? spin : Math.min(spin, timeout * 1000));
      if (brief !== 2) return Promise.resolve(results[brief]);
      if (timeout !== undefined && timeout * 1000 <= spin) return Promise.resolve('timed-out');
    }
    // The futex keeps the deadline and a timeout resolves 2 ('timed-out'), as Atomics.waitAsync's would.
    return freeWaits
      .run(
        timeout,
        signal,
        (id, ms) => sync.futexWaitAsync(slot, id, ms, offset, value, true),
        (id, reason) => sync.waitStop(slot, id, reason),
      )
      .then((result) => results[result]);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Wakes up to `count` waiters on `array[index]` (default: all), in any process; returns how many. */
export function wake(array: Int32Array, index: number, count: number = Infinity): number {
  const { slot, offset } = locate(array, index);
  const n = count === Infinity ? 2 ** 31 - 1 : validateInteger(count, 'count', 0, 2 ** 31 - 1);
  return nativeSync().futexWake(slot, offset, n);
}

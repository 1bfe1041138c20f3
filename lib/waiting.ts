// The waiting model every blocking primitive shares: `{ timeout, signal }` options, settling with
// ERR_IPC_TIMEOUT / ERR_IPC_ABORTED / ERR_IPC_CLOSED, and ref()/unref() like net.Socket. A wait
// that reaches the addon takes its timeout with it: the addon turns it into a deadline that the
// kernel enforces where the call takes one (see native/common/waiter.h), so no JavaScript timer
// runs for it. JavaScript only asks the addon to stop operation N for a reason (an abort); the
// addon settles the operation itself, so a result that raced a stop is delivered, never dropped.
// JavaScript timers remain only for waits that are queued in JavaScript (a send behind earlier
// sends on the same handle, a lock() behind this thread's earlier lock()), and only until the
// wait is handed to the addon with the time that is left.
import { binding } from './binding';
import { ErrorCodes, IpcError, invalidArgType, outOfRange } from './errors';

/** Options every waiting call takes. */
export interface WaitOptions {
  /** Milliseconds to wait before failing with `ERR_IPC_TIMEOUT`. Default: no limit. `0` means do not wait. */
  timeout?: number;
  /** Cancels the wait with `ERR_IPC_ABORTED`. */
  signal?: AbortSignal;
}

const MAX_TIMEOUT = 2 ** 31 - 1;

/** @internal */
export function validateWaitOptions(options: WaitOptions): { timeout: number | undefined; signal: AbortSignal | undefined } {
  const { timeout, signal } = options;
  if (timeout !== undefined && timeout !== Infinity) {
    if (typeof timeout !== 'number') throw invalidArgType('options.timeout', 'of type number', timeout);
    if (Number.isNaN(timeout) || timeout < 0 || timeout > MAX_TIMEOUT) {
      throw outOfRange('options.timeout', `a number of milliseconds from 0 to ${MAX_TIMEOUT}, or Infinity`, timeout);
    }
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  }
  return { timeout: timeout === Infinity ? undefined : timeout, signal };
}

/** @internal */
export function abortedError(what: string): IpcError {
  return new IpcError(ErrorCodes.ABORTED, `The ${what} was aborted`);
}

/** @internal */
export function timeoutError(what: string): IpcError {
  return new IpcError(ErrorCodes.TIMEOUT, `The ${what} timed out`);
}

/** @internal Why the addon is asked to stop a wait (native/common/errors.h StopReason). */
export const StopReasons: { readonly timeout: number; readonly aborted: number; readonly closed: number } = binding.stopReasons;

/** @internal Milliseconds for the addon: -1 for no limit. */
export const timeoutMs = (timeout: number | undefined): number => (timeout === undefined ? -1 : timeout);

/** @internal A wait queued in JavaScript: see {@link Waits.arm}. */
export interface ArmedWait {
  /** The wait settled: drops its timer and abort listener. */
  disarm(): void;
  /**
   * The wait moves to the addon: its timer stops (the addon keeps the deadline from now on) and
   * the milliseconds left are returned for the addon (-1: no limit). The abort listener stays,
   * and calls `stop` with 'ERR_IPC_ABORTED' as before.
   */
  handOff(): number;
}

// Wait numbers are unique in the whole environment, not per handle: the addon files the pending
// waits of every object in one mapping under their numbers, so two objects numbering from 1 would
// shadow each other's waits.
let nextWaitId = 1;

/**
 * @internal
 * Tracks one handle's pending waits: the timers of waits still queued in JavaScript follow the
 * handle's ref state, and each wait's AbortSignal becomes a native stop request.
 */
export class Waits {
  #referenced = true;
  readonly #timers = new Set<NodeJS.Timeout>();

  get referenced(): boolean {
    return this.#referenced;
  }

  setReferenced(referenced: boolean): void {
    this.#referenced = referenced;
    for (const timer of this.#timers) {
      if (referenced) timer.ref();
      else timer.unref();
    }
  }

  nextId(): number {
    return nextWaitId++;
  }

  /**
   * Arms the timeout and abort listener of a wait queued in JavaScript; `stop(code)` is called at
   * most once, with ERR_IPC_TIMEOUT or ERR_IPC_ABORTED.
   */
  arm(timeout: number | undefined, signal: AbortSignal | undefined, stop: (code: string) => void): ArmedWait {
    let stopped = false;
    const once = (code: string) => {
      if (stopped) return;
      stopped = true;
      stop(code);
    };
    const deadline = timeout === undefined ? undefined : performance.now() + timeout;
    let timer: NodeJS.Timeout | undefined;
    const clearTimer = () => {
      if (timer === undefined) return;
      clearTimeout(timer);
      this.#timers.delete(timer);
      timer = undefined;
    };
    if (timeout !== undefined) {
      timer = setTimeout(() => once(ErrorCodes.TIMEOUT), timeout);
      if (!this.#referenced) timer.unref();
      this.#timers.add(timer);
    }
    const onAbort = () => once(ErrorCodes.ABORTED);
    // An already-aborted signal fires no 'abort' event: stop as soon as the caller has finished
    // setting the wait up.
    if (signal?.aborted) queueMicrotask(onAbort);
    else signal?.addEventListener('abort', onAbort, { once: true });
    return {
      disarm: () => {
        stopped = true;
        clearTimer();
        signal?.removeEventListener('abort', onAbort);
      },
      handOff: () => {
        clearTimer();
        return deadline === undefined ? -1 : Math.max(0, deadline - performance.now());
      },
    };
  }

  /**
   * Runs a native wait: `start(id, timeoutMs)` hands the timeout to the addon (-1: none), and an
   * abort of `signal` becomes `stop(id, StopReasons.aborted)`.
   */
  run<T>(
    timeout: number | undefined,
    signal: AbortSignal | undefined,
    start: (id: number, timeoutMs: number) => Promise<T>,
    stop: (id: number, reason: number) => void,
  ): Promise<T> {
    const id = this.nextId();
    const promise = start(id, timeoutMs(timeout));
    if (signal === undefined) return promise;
    let settled = false;
    const onAbort = () => {
      if (!settled) stop(id, StopReasons.aborted);
    };
    if (signal.aborted) queueMicrotask(onAbort);
    else signal.addEventListener('abort', onAbort, { once: true });
    return promise.finally(() => {
      settled = true;
      signal.removeEventListener('abort', onAbort);
    });
  }
}

/**
 * @internal Calls that must not overtake each other (a pipe's writes; receives of a pipe or mailslot): each starts once the one before
 * it has settled. While queued, a call's timeout is a JavaScript timer and an abort settles it
 * at once; once started, the addon keeps what is left of the timeout and an abort stops it there.
 */
export class Lane {
  #tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly waits: Waits,
    private readonly stop: (id: number, reason: number) => void,
  ) {}

  run<T>(
    what: string,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
    start: (id: number, timeoutMs: number) => Promise<T>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let id = 0;
      let settled = false;
      const armed = this.waits.arm(timeout, signal, (code) => {
        if (id !== 0) this.stop(id, StopReasons.aborted);
        else finish(undefined, code === ErrorCodes.TIMEOUT ? timeoutError(what) : abortedError(what));
      });
      function finish(value: T | undefined, error?: unknown): void {
        if (settled) return;
        settled = true;
        armed.disarm();
        if (error === undefined) resolve(value as T);
        else reject(error);
      }
      const begin = (): Promise<void> | undefined => {
        if (settled) return undefined; // stopped while queued
        id = this.waits.nextId();
        let started: Promise<T>;
        try {
          started = start(id, armed.handOff());
        } catch (error) {
          finish(undefined, error);
          return undefined;
        }
        return started.then(
          (value) => finish(value),
          (error) => finish(undefined, error),
        );
      };
      this.#tail = this.#tail.then(begin, begin);
    });
  }
}

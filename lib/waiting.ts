// The waiting model every blocking primitive shares: `{ timeout, signal }` options, settling with
// ERR_IPC_TIMEOUT / ERR_IPC_ABORTED / ERR_IPC_CLOSED, and ref()/unref() like net.Socket. The
// native side only knows "start operation N" and "stop operation N with this code"; it settles
// the operation itself, so a result that raced a stop is delivered, never dropped.
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

/**
 * Tracks one handle's pending waits: their timers follow the handle's ref state, and each wait's
 * timeout and AbortSignal become a native stop request.
 */
// Wait numbers are unique in the whole environment, not per handle: the addon files the pending
// waits of every object in one mapping under their numbers, so two objects numbering from 1 would
// shadow each other's waits.
let nextWaitId = 1;

/** @internal */
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
   * Arms the timeout and abort listener of one wait; `stop(code)` is called at most once, and the
   * returned disarm function must be called when the wait settles.
   */
  arm(timeout: number | undefined, signal: AbortSignal | undefined, stop: (code: string) => void): () => void {
    let stopped = false;
    const once = (code: string) => {
      if (stopped) return;
      stopped = true;
      stop(code);
    };
    let timer: NodeJS.Timeout | undefined;
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
    return () => {
      stopped = true;
      if (timer !== undefined) {
        clearTimeout(timer);
        this.#timers.delete(timer);
      }
      signal?.removeEventListener('abort', onAbort);
    };
  }

  /** Runs a native wait `start(id)` under `timeout` and `signal`. */
  run<T>(timeout: number | undefined, signal: AbortSignal | undefined, start: (id: number) => Promise<T>, stop: (id: number, code: string) => void): Promise<T> {
    const id = this.nextId();
    const promise = start(id);
    const disarm = this.arm(timeout, signal, (code) => stop(id, code));
    return promise.finally(disarm);
  }
}

// eventfd(2): a 64-bit counter behind a descriptor, a doorbell another process (Node, C, ...)
// can ring once it has the descriptor, by inheritance or by descriptor passing (sendFds).
// Waits are on the event loop: no thread, no libuv threadpool.
import { binding, requireFeature, type NativeEventFd } from './binding';
import { CONSTRUCT, constructing, invalidArgType, outOfRange } from './errors';
import { WaitingHandle } from './handle';
import { validateBoolean, validateInteger, validateObject } from './validate';
import { abortedError, timeoutError, validateWaitOptions, type WaitOptions } from './waiting';

export interface EventFdOptions {
  /** The counter's starting value, 0 to 2^32 - 1. Default 0. */
  initial?: number;
  /**
   * Semaphore mode (EFD_SEMAPHORE): a read takes 1 from the counter and returns 1, instead of
   * taking the whole count. Default `false`.
   */
  semaphore?: boolean;
}

export interface EventFdReadOptions extends WaitOptions {
  /** Resolve with a bigint (exact for any counter) instead of a number (exact up to 2^53). */
  bigint?: boolean;
}

const COUNTER_MAX = 2n ** 64n - 2n;

function native(): Required<Pick<typeof binding, 'createEventFd' | 'eventFdFromFd'>> {
  requireFeature('eventFd', 'EventFd');
  return { createEventFd: binding.createEventFd!, eventFdFromFd: binding.eventFdFromFd! };
}

function toCounter(value: unknown, name: string): bigint {
  let big: bigint;
  if (typeof value === 'bigint') big = value;
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw outOfRange(name, 'an integer from 1 to 2^64 - 2', value);
    big = BigInt(value);
  } else throw invalidArgType(name, 'of type number or bigint', value);
  if (big < 1n || big > COUNTER_MAX) throw outOfRange(name, 'an integer from 1 to 2^64 - 2', value);
  return big;
}

/**
 * An eventfd: `signal(n)` adds n to a counter, `read()` waits until it is above zero and takes
 * it (all of it, or 1 in semaphore mode). Every process holding the descriptor shares the
 * counter. The descriptor is non-blocking (O_NONBLOCK is a property of the open description, so
 * it is non-blocking in every process that shares it: a C peer polls it, or retries on EAGAIN).
 */
export class EventFd extends WaitingHandle {
  readonly #native: NativeEventFd;
  #reading = 0;
  #writing = 0;

  private constructor(token: symbol, handle: NativeEventFd) {
    super(constructing(token), handle, 'eventfd');
    this.#native = handle;
  }

  /** A new eventfd (EFD_CLOEXEC | EFD_NONBLOCK). */
  static create(options?: EventFdOptions): EventFd {
    const opts = validateObject<EventFdOptions>(options, 'options');
    const initial = opts.initial === undefined ? 0 : validateInteger(opts.initial, 'options.initial', 0, 2 ** 32 - 1);
    const semaphore = validateBoolean(opts.semaphore, 'options.semaphore', false);
    return new EventFd(CONSTRUCT, native().createEventFd(initial, semaphore));
  }

  /**
   * Wraps an eventfd this process received (inherited, or from `receiveFds`). The handle owns a
   * duplicate: close `fd` yourself when you no longer need it. `semaphore` must say how the
   * eventfd was made (the kernel does not tell). `ERR_IPC_INVALID_OBJECT` if `fd` is not an eventfd.
   */
  static fromFd(fd: number, options?: { semaphore?: boolean }): EventFd {
    const descriptor = validateInteger(fd, 'fd', 0, 2 ** 31 - 1);
    const opts = validateObject<{ semaphore?: boolean }>(options, 'options');
    const semaphore = validateBoolean(opts.semaphore, 'options.semaphore', false);
    return new EventFd(CONSTRUCT, native().eventFdFromFd(descriptor, semaphore));
  }

  /** The descriptor, to pass to another process (child_process stdio, `sendFds`). */
  get fd(): number {
    this.checkOpen();
    return this.#native.fd;
  }

  /** Whether reads take 1 at a time (EFD_SEMAPHORE). */
  get semaphore(): boolean {
    return this.#native.semaphore;
  }

  /**
   * Adds `value` (default 1) to the counter, waking readers. Returns `false` without adding
   * anything if the counter has no room for it (it holds at most 2^64 - 2); `signalAsync()` waits
   * for room instead.
   */
  signal(value: number | bigint = 1): boolean {
    const big = toCounter(value, 'value');
    this.checkOpen();
    // Writes behind a waiting one stay behind it.
    if (this.#writing > 0) return false;
    return this.#native.tryWrite(big);
  }

  /** Like `signal()`, waiting (on the event loop) while the counter has no room. */
  signalAsync(value: number | bigint = 1, options: WaitOptions = {}): Promise<void> {
    try {
      const big = toCounter(value, 'value');
      const { timeout, signal } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
      this.checkOpen();
      if (signal?.aborted) return Promise.reject(abortedError('write'));
      if (this.#writing === 0 && this.#native.tryWrite(big)) return Promise.resolve();
      if (timeout === 0) return Promise.reject(timeoutError('write'));
      const handle = this.#native;
      this.#writing++;
      return this.waits
        .run(
          timeout,
          signal,
          (id, ms) => handle.write(id, ms, big),
          (id, reason) => handle.stop(id, reason),
        )
        .finally(() => this.#writing--);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Takes the counter (or 1, in semaphore mode) if it is above zero; `null` if it is zero. Never waits. */
  tryRead(): number | null {
    this.checkOpen();
    if (this.#reading > 0) return null;
    const value = this.#native.tryRead();
    return value === null ? null : Number(value);
  }

  /**
   * Waits until the counter is above zero, takes it (or 1 in semaphore mode) and resolves with
   * what it took. Reads of one handle settle in call order. `ERR_IPC_TIMEOUT`, `ERR_IPC_ABORTED`,
   * `ERR_IPC_CLOSED` as for every wait.
   */
  read(options?: EventFdReadOptions & { bigint?: false }): Promise<number>;
  read(options: EventFdReadOptions & { bigint: true }): Promise<bigint>;
  read(options: EventFdReadOptions = {}): Promise<number | bigint> {
    try {
      const opts = validateObject<EventFdReadOptions>(options, 'options');
      const asBigInt = validateBoolean(opts.bigint, 'options.bigint', false);
      const { timeout, signal } = validateWaitOptions(opts);
      this.checkOpen();
      const convert = (value: bigint) => (asBigInt ? value : Number(value));
      if (signal?.aborted) return Promise.reject(abortedError('read'));
      if (this.#reading === 0) {
        const now = this.#native.tryRead();
        if (now !== null) return Promise.resolve(convert(now));
      }
      if (timeout === 0) return Promise.reject(timeoutError('read'));
      const handle = this.#native;
      this.#reading++;
      return this.waits
        .run(
          timeout,
          signal,
          (id, ms) => handle.read(id, ms),
          (id, reason) => handle.stop(id, reason),
        )
        .then(convert)
        .finally(() => this.#reading--);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Reads for ever: `for await (const n of efd)` ends when the handle is closed. */
  [Symbol.asyncIterator](): AsyncGenerator<number, void, undefined> {
    // A receiver that is not an EventFd fails here, at the call (a generator would fail only at
    // its first next()).
    void this.#reading;
    return this.#values();
  }

  async *#values(): AsyncGenerator<number, void, undefined> {
    for (;;) {
      try {
        yield await this.read();
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_IPC_CLOSED') return;
        throw error;
      }
    }
  }
}

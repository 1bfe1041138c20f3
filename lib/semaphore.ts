import { WaitingHandle } from './handle';
import { binding, requireFeature, SemaphoreFlags, type NativeSemaphore } from './binding';
import { CONSTRUCT, constructing, invalidArgValue } from './errors';
import { posixName } from './names';
import { validateInteger, validateMode, validateObject } from './validate';
import { abortedError, timeoutError, validateWaitOptions, type WaitOptions } from './waiting';

export interface SemaphoreCreateOptions {
  /** The value a new semaphore starts with: an integer from 0 to `Semaphore.VALUE_MAX`. Default `0`. */
  initial?: number;
  /** Permission bits, applied exactly (not filtered by the umask). Default `0o600`. */
  mode?: number;
}

/** SEM_VALUE_MAX: the largest value a semaphore can hold (INT_MAX on Linux, LONG_MAX, the same, on Windows). */
const VALUE_MAX = binding.semValueMax ?? 2 ** 31 - 1;
function semaphoreName(value: unknown): string {
  const name = posixName(value);
  const names = binding.constants.posixNames;
  if (names === undefined) return name; // no such semaphores here: opening says so
  // glibc keeps '/jobs' as the file /dev/shm/sem.jobs: the prefix takes part of NAME_MAX.
  const bytes = Buffer.byteLength(name, 'utf8') - 1;
  if (bytes > names.semaphoreNameMax) {
    throw invalidArgValue(
      'name',
      value,
      `must be at most ${names.semaphoreNameMax} bytes after the leading slash (NAME_MAX less glibc's "${names.semaphoreFilePrefix}" prefix), not ${bytes}`,
    );
  }
  return name;
}

function createOptions(options: SemaphoreCreateOptions | undefined): { initial: number; mode: number } {
  const opts = validateObject<SemaphoreCreateOptions>(options, 'options');
  const initial = opts.initial === undefined ? 0 : validateInteger(opts.initial, 'options.initial', 0, VALUE_MAX);
  const mode = validateMode(opts.mode, 'options.mode', 0o600);
  return { initial, mode };
}

function native(): { open: NonNullable<typeof binding.openSemaphore>; unlink: NonNullable<typeof binding.unlinkSemaphore> } {
  requireFeature('namedSemaphore', 'Named semaphores');
  return { open: binding.openSemaphore!, unlink: binding.unlinkSemaphore! };
}

/**
 * A POSIX named semaphore (`sem_open` and friends): the one C opens with `sem_open("/jobs", ...)`.
 * `post()` and `tryWait()` never wait. `wait()` takes the semaphore at once when it can, and
 * otherwise waits on one of the addon's own waiter threads (never on libuv's threadpool);
 * `waitSync()` blocks the calling thread. Timeouts run on the monotonic clock.
 *
 * On Windows it is a named Windows semaphore, `Local\name` for `'/name'` (no backslash; the
 * namespace is shared with shared memory, so the two cannot have the same name: that is
 * `ERR_IPC_INVALID_OBJECT`). The name lasts while any process has the semaphore open, so
 * `unlink()` only checks the name; `mode` is not applied; `value` comes from NtQuerySemaphore.
 */
export class Semaphore extends WaitingHandle {
  /** SEM_VALUE_MAX: the largest value a semaphore can hold; `post()` beyond it fails with `EOVERFLOW`. */
  static readonly VALUE_MAX: number = VALUE_MAX;

  readonly #native: NativeSemaphore;
  readonly #name: string;
  #waiting = 0;

  private constructor(token: symbol, handle: NativeSemaphore, name: string) {
    super(constructing(token), handle, `semaphore '${name}'`);
    this.#native = handle;
    this.#name = name;
  }

  static #open(name: unknown, flags: number, options: SemaphoreCreateOptions | undefined): Semaphore {
    const normalized = semaphoreName(name);
    const { initial, mode } = flags & SemaphoreFlags.CREATE ? createOptions(options) : { initial: 0, mode: 0 };
    return new Semaphore(CONSTRUCT, native().open(normalized, flags, mode, initial), normalized);
  }

  /** Creates a semaphore, exclusively: `EEXIST` if the name exists. */
  static create(name: string, options?: SemaphoreCreateOptions): Semaphore {
    return Semaphore.#open(name, SemaphoreFlags.CREATE | SemaphoreFlags.EXCLUSIVE, options);
  }

  /**
   * Opens an existing semaphore: `ENOENT` if there is none, `ERR_IPC_INVALID_OBJECT` if the file
   * at the name is not one (shorter than a `sem_t`, not a regular file, or a symbolic link).
   */
  static open(name: string): Semaphore {
    return Semaphore.#open(name, 0, undefined);
  }

  /**
   * Opens the semaphore, creating it with `options` if it does not exist (`created` tells which).
   * An existing semaphore keeps its value and mode; a file at the name that is not a semaphore
   * fails with `ERR_IPC_INVALID_OBJECT` and is left alone.
   */
  static openOrCreate(name: string, options?: SemaphoreCreateOptions): Semaphore {
    return Semaphore.#open(name, SemaphoreFlags.CREATE, options);
  }

  /** Removes the name (sem_unlink); processes that have it open keep using it until they close it. */
  static unlink(name: string): void {
    native().unlink(semaphoreName(name));
  }

  /** The semaphore's name, with its leading slash. */
  get name(): string {
    return this.#name;
  }

  /** Whether this handle created the semaphore. */
  get created(): boolean {
    return this.#native.created;
  }

  /** The current value (sem_getvalue). Only a snapshot: other processes may change it at once. */
  get value(): number {
    this.checkOpen();
    return this.#native.value;
  }

  /** Increments the value, waking one waiter if any (sem_post). `EOVERFLOW` past `Semaphore.VALUE_MAX`. */
  post(): void {
    this.checkOpen();
    this.#native.post();
  }

  /** Decrements the value if it is above zero and returns `true`; otherwise returns `false` (sem_trywait). Never waits. */
  tryWait(): boolean {
    this.checkOpen();
    return this.#native.tryWait();
  }

  /**
   * Decrements the value, waiting until it is above zero. Rejects with `ERR_IPC_TIMEOUT` after
   * `timeout` ms (`0`: only if it cannot be taken now), `ERR_IPC_ABORTED` when `signal` aborts,
   * `ERR_IPC_CLOSED` when the handle is closed. A wait that took the semaphore just as it was
   * stopped resolves: a post is never lost. While another wait of this handle is pending, a new
   * one does not take ahead of it with sem_trywait but waits in the kernel alongside it.
   */
  wait(options: WaitOptions = {}): Promise<void> {
    try {
      const { timeout, signal } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
      this.checkOpen();
      if (signal?.aborted) return Promise.reject(abortedError('wait'));
      if (this.#waiting === 0 && this.#native.tryWait()) return Promise.resolve();
      if (timeout === 0) return Promise.reject(timeoutError('wait'));
      const handle = this.#native;
      this.#waiting++;
      return this.waits
        .run(
          timeout,
          signal,
          (id, ms) => handle.wait(id, ms),
          (id, reason) => handle.stop(id, reason),
        )
        .finally(() => {
          this.#waiting--;
        });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Decrements the value, blocking the calling thread until it is above zero: for scripts and
   * worker threads, never for a thread that serves other work. Throws `ERR_IPC_TIMEOUT` after
   * `timeout` ms. Nothing can interrupt it but the timeout or a post (not even
   * `worker.terminate()`), so give it a timeout whenever a post may never come.
   */
  waitSync(options: { timeout?: number } = {}): void {
    const opts = validateObject<WaitOptions>(options, 'options');
    if (opts.signal !== undefined)
      throw invalidArgValue('options.signal', opts.signal, 'is not supported by waitSync(), which blocks the thread that would abort it; use wait()');
    const { timeout } = validateWaitOptions(opts);
    this.checkOpen();
    if (!this.#native.waitSync(timeout ?? -1)) throw timeoutError('wait');
  }

  /** Removes this semaphore's name. Allowed after `close()`. */
  unlink(): void {
    Semaphore.unlink(this.#name);
  }
}

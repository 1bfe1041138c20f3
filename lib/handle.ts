// The base of every handle whose operations can wait (message queues, semaphores): the closed
// state, ref()/unref() for its pending waits and their timers, and an idempotent close(), which
// the addon turns into ERR_IPC_CLOSED for every wait still pending.
import { closedError, CONSTRUCT, illegalConstructor } from './errors';
import { Waits } from './waiting';

/** What the addon's waiting handles all offer. */
/** @internal */
export interface NativeWaitingHandle {
  ref(): void;
  unref(): void;
  close(): void;
}

export abstract class WaitingHandle {
  /** @internal */
  protected readonly waits = new Waits();
  readonly #handle: NativeWaitingHandle;
  readonly #what: string;
  #closed = false;

  /** @internal */
  protected constructor(token: symbol, handle: NativeWaitingHandle, what: string) {
    if (token !== CONSTRUCT) throw illegalConstructor();
    this.#handle = handle;
    this.#what = what;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal Throws ERR_IPC_CLOSED after `close()`. */
  protected checkOpen(): void {
    if (this.#closed) throw closedError(this.#what);
  }

  /** Lets a pending wait keep the process alive (the default). Returns the handle. */
  ref(): this {
    this.waits.setReferenced(true);
    if (!this.#closed) this.#handle.ref();
    return this;
  }

  /** Lets the process exit while waits are pending on this handle. Returns the handle. */
  unref(): this {
    this.waits.setReferenced(false);
    if (!this.#closed) this.#handle.unref();
    return this;
  }

  /**
   * Closes this handle: its pending waits fail with `ERR_IPC_CLOSED`, having taken nothing.
   * Idempotent. The object itself stays (see `unlink()` / `remove()`).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.beforeClose();
    this.#handle.close();
  }

  /** @internal For subclasses: settle what is queued in JavaScript before the addon closes. */
  protected beforeClose(): void {}

  [Symbol.dispose](): void {
    this.close();
  }
}

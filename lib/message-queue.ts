// What both kinds of message queue share: ordered sends with a non-waiting fast path, receives
// that try first and wait only when the queue is empty, timeouts, aborts, close, ref/unref and
// async iteration. The kind-specific classes supply the native calls.
import { closedError, constructing, ErrorCodes, invalidArgType, invalidArgValue, IpcError } from './errors';
import { validateInteger } from './validate';
import { WaitingHandle, type NativeWaitingHandle } from './handle';
import { abortedError, StopReasons, timeoutError, validateWaitOptions, type ArmedWait, type WaitOptions } from './waiting';

/** Options of a receive that may wait. */
export interface ReceiveWaitOptions extends WaitOptions {
  /**
   * Microseconds (0 to 1000) to keep trying on the calling thread when the queue is empty, before
   * waiting without blocking. A quick reply then costs about what it costs in C; the event loop
   * is held for at most this long. 0: never block. Default: 50, for both kinds of queue (POSIX
   * queues sleep in ppoll meanwhile; System V queues retry between sched_yield()s, which keeps
   * the CPU busy: on one CPU shared with a busy sender, `spin: 0` may send faster).
   */
  spin?: number;
}

/**
 * @internal The default `spin` of every receive, System V and POSIX alike: one rule for the
 * event loop (a receive that finds its queue empty holds it at most 50 us) whatever the kind.
 * 50 us covers a peer that answers at once (a request/reply round trip then costs about 1.5x
 * C's instead of about 6x, bench/queues.js), and is short next to anything else the event loop
 * waits for. System V pays for it in CPU (it retries between sched_yield()s where POSIX sleeps
 * in ppoll), which only a receiver on one CPU with a busy sender notices; it passes `spin: 0`.
 */
export const DEFAULT_SPIN_US = 50;

/** The data a message can be made of. Strings are sent as UTF-8. */
export type MessageData = string | ArrayBufferView | ArrayBuffer;

const SLAB_MIN = 64 * 1024;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * @internal Where non-waiting receives land: the addon writes a message's header (type or priority) into 8
 * bytes and the message right after them, inside a slab that later messages share, so handing the
 * message out is a zero-copy `subarray` (as Node's own Buffer pool does for small Buffers). A
 * received Buffer keeps its slab (64 KiB, or four largest messages) alive while it is referenced.
 */
export class ReceiveArea {
  #slab = Buffer.alloc(0);
  #u32 = new Uint32Array(0);
  #i32 = new Int32Array(0);
  #offset = 0;

  /** Makes room for a header and `size` message bytes at `offset` (8-byte aligned) of `slab`. */
  reserve(size: number): void {
    if (this.#slab.length - this.#offset < 8 + size) {
      // allocUnsafeSlow: an ArrayBuffer of its own, so offset 0 is 8-byte aligned.
      this.#slab = Buffer.allocUnsafeSlow(Math.max(SLAB_MIN, 4 * (8 + size)));
      this.#u32 = new Uint32Array(this.#slab.buffer, 0, this.#slab.length >>> 2);
      this.#i32 = new Int32Array(this.#slab.buffer, 0, this.#slab.length >>> 2);
      this.#offset = 0;
    }
  }

  get slab(): Buffer {
    return this.#slab;
  }

  get offset(): number {
    return this.#offset;
  }

  /** The header as a signed 64-bit number in native byte order (a System V type). */
  get int64(): number {
    const i = this.#offset >>> 2;
    return LITTLE_ENDIAN ? this.#u32[i] + this.#i32[i + 1] * 4294967296 : this.#i32[i] * 4294967296 + this.#u32[i + 1];
  }

  /** The header's first 32 bits in native byte order (a POSIX priority). */
  get uint32(): number {
    return this.#u32[this.#offset >>> 2];
  }

  /** The `length` message bytes just received, handed out without copying. */
  take(length: number): Buffer {
    const start = this.#offset + 8;
    this.#offset = (start + length + 7) & ~7;
    return this.#slab.subarray(start, start + length);
  }
}

// A detached ArrayBuffer (transferred, or the memory of a closed SharedMemory or MappedFile)
// reads as empty; Node 20 has no ArrayBuffer.prototype.detached, but constructing a view over
// one throws.
function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0 || !(buffer instanceof ArrayBuffer)) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

function detachedData(): TypeError {
  return invalidArgValue(
    'data',
    'detached',
    'is detached: its memory was closed (SharedMemory, MappedFile) or transferred, so there are no bytes to send',
  );
}

/**
 * @internal The bytes of a message. Data over detached memory is refused (ERR_INVALID_ARG_VALUE) rather
 * than sent as an empty message: an empty message is something a caller sends on purpose.
 */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) {
    if (data.byteLength === 0 && isDetached(data.buffer)) throw detachedData();
    return data;
  }
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) {
    if (isDetached(data.buffer)) throw detachedData();
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  if (data instanceof ArrayBuffer) {
    if (isDetached(data)) throw detachedData();
    return new Uint8Array(data);
  }
  throw invalidArgType('data', 'a string, Buffer, TypedArray, DataView or ArrayBuffer', data);
}

/**
 * @internal How one kind of queue sends: now (never waiting), or as a native wait. `arg` is the kind's
 * per-message number (System V type, POSIX priority).
 */
export interface SendBackend {
  trySend(bytes: Uint8Array, arg: number): boolean;
  /** `timeoutMs`: what is left of the send's timeout, -1 for none. */
  send(id: number, timeoutMs: number, bytes: Uint8Array, arg: number): Promise<void>;
  /** `reason`: one of StopReasons. */
  stop(id: number, reason: number): void;
}

interface QueuedSend {
  bytes: Uint8Array;
  arg: number;
  backend: SendBackend;
  resolve: () => void;
  reject: (error: unknown) => void;
  armed: ArmedWait | undefined;
  settled: boolean;
  id: number; // non-zero once it is a native wait
}

export abstract class MessageQueueBase<M> extends WaitingHandle implements AsyncIterable<M> {
  #sends: QueuedSend[] = [];
  #receiving = 0;
  readonly #what: string;

  /** @internal */
  protected constructor(token: symbol, handle: NativeWaitingHandle, what: string) {
    super(constructing(token), handle, what);
    this.#what = what;
  }

  /** @internal Whether sends are queued behind each other on this handle (trySend then refuses, keeping order). */
  protected get sending(): boolean {
    return this.#sends.length > 0;
  }

  /** @internal Whether a receive is waiting on this handle (later receives then wait their turn). */
  protected get receiving(): boolean {
    return this.#receiving > 0;
  }

  /**
   * @internal Sends in call order: right away when nothing is queued on this handle and the queue has
   * room; otherwise the bytes are copied now and sent when their turn comes.
   */
  protected sendOrdered(bytes: Uint8Array, arg: number, options: WaitOptions, backend: SendBackend): Promise<void> {
    const { timeout, signal } = validateWaitOptions(options);
    this.checkOpen();
    if (signal?.aborted) return Promise.reject(abortedError('send'));
    if (this.#sends.length === 0 && backend.trySend(bytes, arg)) return Promise.resolve();
    if (timeout === 0) return Promise.reject(timeoutError('send'));
    return new Promise<void>((resolve, reject) => {
      const entry: QueuedSend = {
        bytes: this.#sends.length === 0 ? bytes : Uint8Array.prototype.slice.call(bytes),
        arg,
        backend,
        resolve,
        reject,
        armed: undefined,
        settled: false,
        id: 0,
      };
      // While queued here, the timeout is a JavaScript timer; once the send is handed to the
      // addon (#startWait), the addon keeps what is left of it and only an abort crosses over.
      entry.armed = this.waits.arm(timeout, signal, (code) => {
        if (entry.id !== 0) {
          backend.stop(entry.id, StopReasons.aborted);
        } else {
          this.#settle(entry, new IpcError(code, code === ErrorCodes.TIMEOUT ? 'The send timed out' : 'The send was aborted'));
        }
      });
      if (this.#sends.length === 0) {
        // The fast path failed: this send waits natively, with its bytes copied by the addon.
        this.#sends.push(entry);
        this.#startWait(entry);
      } else {
        this.#sends.push(entry);
      }
    });
  }

  #settle(entry: QueuedSend, error?: unknown): void {
    if (entry.settled) return;
    entry.settled = true;
    entry.armed?.disarm();
    if (error === undefined) entry.resolve();
    else entry.reject(error);
  }

  #startWait(entry: QueuedSend): void {
    entry.id = this.waits.nextId();
    let promise: Promise<void>;
    try {
      promise = entry.backend.send(entry.id, entry.armed?.handOff() ?? -1, entry.bytes, entry.arg);
    } catch (error) {
      this.#settle(entry, error);
      this.#sends.shift();
      this.#pump();
      return;
    }
    promise
      .then(
        () => this.#settle(entry),
        (error) => this.#settle(entry, error),
      )
      .finally(() => {
        this.#sends.shift();
        this.#pump();
      });
  }

  // Starts the next queued send: now if the queue has room, else as a native wait.
  #pump(): void {
    while (this.#sends.length > 0) {
      const head = this.#sends[0];
      if (head.settled) {
        this.#sends.shift();
        continue;
      }
      if (this.closed) {
        this.#settle(head, closedError(this.#what));
        this.#sends.shift();
        continue;
      }
      try {
        if (head.backend.trySend(head.bytes, head.arg)) {
          this.#settle(head);
          this.#sends.shift();
          continue;
        }
      } catch (error) {
        this.#settle(head, error);
        this.#sends.shift();
        continue;
      }
      this.#startWait(head);
      return;
    }
  }

  /**
   * @internal Receives: at once if a message is waiting and no earlier receive on this handle is, else as a
   * native wait under `timeout` and `signal`.
   */
  protected receiveWith<T>(
    options: ReceiveWaitOptions,
    tryNow: (spinMicros: number) => T | null,
    start: (id: number, timeoutMs: number) => Promise<T>,
    stop: (id: number, reason: number) => void,
  ): Promise<T> {
    const { timeout, signal } = validateWaitOptions(options);
    const spin = options.spin === undefined ? DEFAULT_SPIN_US : validateInteger(options.spin, 'options.spin', 0, 1000);
    this.checkOpen();
    if (signal?.aborted) return Promise.reject(abortedError('receive'));
    if (this.#receiving === 0) {
      // A message that arrives within `spin` microseconds is taken right here, on this thread:
      // one context switch instead of a hand-off to a waiter thread or an event-loop round.
      const message = tryNow(timeout === 0 ? 0 : timeout === undefined ? spin : Math.min(spin, timeout * 1000));
      if (message !== null) return Promise.resolve(message);
    }
    if (timeout === 0) return Promise.reject(timeoutError('receive'));
    this.#receiving++;
    return this.waits.run(timeout, signal, start, stop).finally(() => {
      this.#receiving--;
    });
  }

  /** @internal Sends queued behind a waiting one fail with ERR_IPC_CLOSED; the addon settles the rest. */
  protected override beforeClose(): void {
    for (const entry of this.#sends) {
      if (entry.id === 0) this.#settle(entry, closedError(this.#what));
    }
  }

  /** Receives messages one after another until the handle is closed; `break` stops cleanly. */
  abstract [Symbol.asyncIterator](): AsyncIterator<M>;

  /** @internal */
  protected async *iterate(receive: () => Promise<M>): AsyncGenerator<M, void, undefined> {
    while (!this.closed) {
      let message: M;
      try {
        message = await receive();
      } catch (error) {
        if ((error as { code?: string }).code === ErrorCodes.CLOSED) return;
        throw error;
      }
      yield message;
    }
  }
}

import { binding, requireFeature, LimitNames, QueueFlags, type NativeSysVQueue } from './binding';
import { CONSTRUCT, constructing, invalidArgValue, outOfRange, withLimit } from './errors';
import { MessageQueueBase, ReceiveArea, toBytes, type MessageData, type ReceiveWaitOptions, type SendBackend } from './message-queue';
import { validateKey } from './sysv-key';
import { validateBoolean, validateInteger, validateMode, validateObject, validateString } from './validate';
import type { WaitOptions } from './waiting';

/** A message from a System V queue. */
export interface SysVMessage {
  /** The message's type (a positive integer, `mtype`). */
  type: number;
  /** The message's bytes (a copy: the queue no longer holds them). */
  data: Buffer;
}

export interface SysVSendOptions extends WaitOptions {
  /** The message type, a positive integer. Default `1`. */
  type?: number;
}

export interface SysVReceiveOptions extends ReceiveWaitOptions {
  /**
   * Which message, as msgrcv(2) defines it: `0` the first in the queue; a positive number the
   * first of exactly that type; a negative number the first of the lowest type that is at most
   * its absolute value. Default `0`.
   */
  type?: number;
  /**
   * The largest message to accept, in bytes, from 0 to the kernel's msgmax ({@link
   * SysVMessageQueue.messageMax}): no message can be larger. Default: msgmax.
   */
  maxSize?: number;
  /** Truncate a longer message to `maxSize` (MSG_NOERROR) instead of failing with `ERR_IPC_MESSAGE_TOO_LARGE`. */
  noError?: boolean;
}

export interface SysVQueueStats {
  /** Messages in the queue (`msg_qnum`). */
  messages: number;
  /** Bytes in the queue (`msg_cbytes`). */
  bytes: number;
  /** Most bytes the queue may hold (`msg_qbytes`). */
  maxBytes: number;
  lastSendPid: number;
  lastReceivePid: number;
  /** When the last message was sent, or `null` if none was. */
  lastSendTime: Date | null;
  lastReceiveTime: Date | null;
  changeTime: Date | null;
  /** Permission bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Creator's user and group. */
  cuid: number;
  cgid: number;
}

function native(): NonNullable<typeof binding.openSysVQueue> {
  requireFeature('sysvMessageQueue', 'System V message queues');
  return binding.openSysVQueue!;
}

const toDate = (seconds: number) => (seconds === 0 ? null : new Date(seconds * 1000));

/**
 * A System V message queue (msgget, msgsnd, msgrcv, msgctl). Waits run on the addon's own waiter
 * threads, never on libuv's threadpool.
 */
export class SysVMessageQueue extends MessageQueueBase<SysVMessage> {
  readonly #native: NativeSysVQueue;
  readonly #key: number;
  readonly #sendBackend: SendBackend;
  readonly #area = new ReceiveArea();
  readonly #msgmax: number;

  private constructor(token: symbol, handle: NativeSysVQueue, key: number) {
    super(constructing(token), handle, `System V message queue ${handle.name}`);
    this.#native = handle;
    this.#msgmax = handle.msgmax;
    this.#key = key;
    this.#sendBackend = {
      trySend: (bytes, type) => handle.trySend(type, bytes),
      send: (id, timeoutMs, bytes, type) => handle.send(id, timeoutMs, type, bytes),
      stop: (id, reason) => handle.stop(id, reason),
    };
  }

  /** Creates a queue for `key`, exclusively: `EEXIST` if one exists. */
  static create(key: number, options?: { mode?: number }): SysVMessageQueue {
    const k = validateKey(key);
    const mode = validateMode(validateObject<{ mode?: number }>(options, 'options').mode, 'options.mode', 0o600);
    return new SysVMessageQueue(CONSTRUCT, native()(k, QueueFlags.CREATE | QueueFlags.EXCLUSIVE, mode), k);
  }

  /** Opens the existing queue for `key`: `ENOENT` if there is none. */
  static open(key: number): SysVMessageQueue {
    const k = validateKey(key);
    return new SysVMessageQueue(CONSTRUCT, native()(k, 0, 0), k);
  }

  /** Opens the queue for `key`, creating it if there is none (`created` tells which). */
  static openOrCreate(key: number, options?: { mode?: number }): SysVMessageQueue {
    const k = validateKey(key);
    const mode = validateMode(validateObject<{ mode?: number }>(options, 'options').mode, 'options.mode', 0o600);
    return new SysVMessageQueue(CONSTRUCT, native()(k, QueueFlags.CREATE, mode), k);
  }

  /** Creates a new queue with no key (IPC_PRIVATE): share its `id` with the processes that need it. */
  static createPrivate(options?: { mode?: number }): SysVMessageQueue {
    const mode = validateMode(validateObject<{ mode?: number }>(options, 'options').mode, 'options.mode', 0o600);
    return new SysVMessageQueue(CONSTRUCT, native()(0, QueueFlags.CREATE | QueueFlags.PRIVATE, mode), 0);
  }

  /** The key (0 for a private queue). */
  get key(): number {
    return this.#key;
  }

  /** The kernel's queue id, as `ipcs -q` shows it. */
  get id(): number {
    return this.#native.id;
  }

  /** Whether this handle created the queue. */
  get created(): boolean {
    return this.#native.created;
  }

  /** The kernel's largest message, in bytes (`/proc/sys/kernel/msgmax`, read at open). */
  get messageMax(): number {
    return this.#msgmax;
  }

  /**
   * Sends a message, waiting for room if the queue is full. The bytes are copied before this
   * returns. Sends on one handle complete in call order.
   */
  send(data: MessageData, options: SysVSendOptions = {}): Promise<void> {
    try {
      const opts = validateObject<SysVSendOptions>(options, 'options');
      const type = opts.type === undefined ? 1 : validateInteger(opts.type, 'options.type', 1);
      const bytes = toBytes(data);
      this.checkOpen();
      return this.sendOrdered(bytes, type, opts, this.#sendBackend);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Sends if the queue has room now (IPC_NOWAIT); returns whether it did. Never waits. */
  trySend(data: MessageData, options?: { type?: number }): boolean {
    const type =
      options === undefined
        ? 1
        : validateObject<{ type?: number }>(options, 'options').type === undefined
          ? 1
          : validateInteger(options.type, 'options.type', 1);
    const bytes = toBytes(data);
    this.checkOpen();
    if (this.sending) return false; // earlier sends on this handle go first
    return this.#native.trySend(type, bytes);
  }

  #receiveArgs(options: SysVReceiveOptions): [number, number, boolean] {
    const type = options.type === undefined ? 0 : validateInteger(options.type, 'options.type', -Number.MAX_SAFE_INTEGER);
    const maxSize = options.maxSize === undefined ? this.#msgmax : validateInteger(options.maxSize, 'options.maxSize', 0);
    // No message is larger than msgmax, and the receive area is sized from maxSize: a larger
    // bound would only cost memory (gigabytes, or a RangeError from Buffer).
    if (maxSize > this.#msgmax) {
      const msgmax = { name: LimitNames.msgmax, value: this.#msgmax };
      throw withLimit(outOfRange('options.maxSize', `>= 0 and <= ${msgmax.value} (the kernel's msgmax, ${msgmax.name})`, maxSize), msgmax);
    }
    const noError = validateBoolean(options.noError, 'options.noError', false);
    return [type, maxSize, noError];
  }

  /**
   * Receives a message, waiting for one if none matches `type` yet. When none is there, it first
   * retries for `spin` microseconds (default 50, as for POSIX queues) on this thread.
   */
  receive(options: SysVReceiveOptions = {}): Promise<SysVMessage> {
    try {
      const opts = validateObject<SysVReceiveOptions>(options, 'options');
      const [type, maxSize, noError] = this.#receiveArgs(opts);
      const queue = this.#native;
      return this.receiveWith(
        opts,
        (spin) => this.#tryReceive(type, maxSize, noError, spin),
        (id, ms) => queue.receive(id, ms, type, maxSize, noError),
        (id, reason) => queue.stop(id, reason),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Receives a message if one matching `type` is there now (IPC_NOWAIT), else returns `null`. */
  tryReceive(options?: Omit<SysVReceiveOptions, 'timeout' | 'signal'>): SysVMessage | null {
    this.checkOpen();
    if (options === undefined) return this.#tryReceive(0, this.#msgmax, false);
    const [type, maxSize, noError] = this.#receiveArgs(validateObject<SysVReceiveOptions>(options, 'options'));
    return this.#tryReceive(type, maxSize, noError);
  }

  #tryReceive(type: number, maxSize: number, noError: boolean, spinMicros = 0): SysVMessage | null {
    const area = this.#area;
    area.reserve(maxSize);
    const length = this.#native.tryReceiveInto(type, area.slab, area.offset, maxSize, noError, spinMicros);
    if (length < 0) return null;
    const received = area.int64; // before take(), which moves on past this message
    return { type: received, data: area.take(length) };
  }

  /** IPC_STAT: the queue's counters, limits, last users and permissions. */
  stat(): SysVQueueStats {
    this.checkOpen();
    const s = this.#native.stat();
    return { ...s, lastSendTime: toDate(s.lastSendTime), lastReceiveTime: toDate(s.lastReceiveTime), changeTime: toDate(s.changeTime) };
  }

  /** IPC_SET: changes the permission bits and/or the most bytes the queue may hold. */
  set(options: { mode?: number; maxBytes?: number }): void {
    const opts = validateObject<{ mode?: number; maxBytes?: number }>(options, 'options');
    const mode = opts.mode === undefined ? -1 : validateMode(opts.mode, 'options.mode', 0);
    const maxBytes = opts.maxBytes === undefined ? -1 : validateInteger(opts.maxBytes, 'options.maxBytes', 0, 2 ** 32 - 1);
    this.checkOpen();
    this.#native.set(mode, maxBytes);
  }

  /** IPC_RMID: removes the queue from the system; waits on it in every process fail with `EIDRM`. */
  remove(): void {
    this.checkOpen();
    this.#native.remove();
  }

  [Symbol.asyncIterator](): AsyncIterator<SysVMessage> {
    return this.messages();
  }

  /** Async iteration with receive options: `for await (const m of queue.messages({ type: 2 }))`. */
  messages(options: SysVReceiveOptions = {}): AsyncGenerator<SysVMessage, void, undefined> {
    return this.iterate(() => this.receive(options));
  }
}

/** ftok(3): the System V key for an existing file and a project id (1 to 255). */
export function ftok(path: string, projId: number): number {
  validateString(path, 'path');
  // The C string would end at the NUL and name another file: ftok('/tmp\0/x') would be /tmp's key.
  if (path.includes('\0')) throw invalidArgValue('path', path, 'must not contain null bytes');
  const id = validateInteger(projId, 'projId', 1, 255);
  requireFeature('sysvMessageQueue', 'ftok');
  return binding.ftok!(path, id);
}

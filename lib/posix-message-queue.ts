import { binding, requireFeature, QueueFlags, type NativePosixQueue } from './binding';
import { CONSTRUCT, constructing } from './errors';
import { MessageQueueBase, ReceiveArea, toBytes, type MessageData, type ReceiveWaitOptions, type SendBackend } from './message-queue';
import { posixName } from './names';
import { validateInteger, validateMode, validateObject } from './validate';
import type { WaitOptions } from './waiting';

/** A message from a POSIX queue. */
export interface PosixMessage {
  /** The message's bytes. */
  data: Buffer;
  /** Its priority: higher priorities are received first. */
  priority: number;
}

export interface PosixQueueCreateOptions {
  /** Most messages the queue holds. Default: `/proc/sys/fs/mqueue/msg_default`. */
  maxMessages?: number;
  /** Largest message, in bytes. Default: `/proc/sys/fs/mqueue/msgsize_default`. */
  messageSize?: number;
  /** Permission bits, applied exactly. Default `0o600`. */
  mode?: number;
}

export interface PosixSendOptions extends WaitOptions {
  /** 0 (default) to 32767; higher priorities are received first. */
  priority?: number;
}

export interface PosixQueueAttributes {
  maxMessages: number;
  messageSize: number;
  /** Messages in the queue now. */
  currentMessages: number;
}

/** The highest priority (MQ_PRIO_MAX - 1, from the addon). */
const PRIORITY_MAX = binding.constants.posixQueue?.priorityMax ?? 0;

/** The kernel limits that govern POSIX message queues here, read from /proc/sys/fs/mqueue at the call. */
export function posixQueueLimits(): { msgMax: number; msgsizeMax: number; msgDefault: number; msgsizeDefault: number; queuesMax: number } {
  requireFeature('posixMessageQueue', 'POSIX message queues');
  return binding.posixQueueLimits!();
}

function native(): { open: NonNullable<typeof binding.openPosixQueue>; unlink: NonNullable<typeof binding.unlinkPosixQueue> } {
  requireFeature('posixMessageQueue', 'POSIX message queues');
  return { open: binding.openPosixQueue!, unlink: binding.unlinkPosixQueue! };
}

/**
 * A POSIX message queue (mq_open and friends). On Linux its descriptor is watched on the event
 * loop: waiting uses no thread at all.
 */
export class PosixMessageQueue extends MessageQueueBase<PosixMessage> {
  readonly #native: NativePosixQueue;
  readonly #name: string;
  readonly #sendBackend: SendBackend;
  readonly #area = new ReceiveArea();
  readonly #messageSize: number;

  private constructor(token: symbol, handle: NativePosixQueue, name: string) {
    super(constructing(token), handle, `POSIX message queue '${name}'`);
    this.#native = handle;
    this.#messageSize = handle.messageSize;
    this.#name = name;
    this.#sendBackend = {
      trySend: (bytes, priority) => handle.trySend(bytes, priority),
      send: (id, timeoutMs, bytes, priority) => handle.send(id, timeoutMs, bytes, priority),
      stop: (id, reason) => handle.stop(id, reason),
    };
  }

  static #open(name: string, flags: number, options: PosixQueueCreateOptions | undefined): PosixMessageQueue {
    const normalized = posixName(name);
    const opts = validateObject<PosixQueueCreateOptions>(options, 'options');
    const maxMessages = opts.maxMessages === undefined ? 0 : validateInteger(opts.maxMessages, 'options.maxMessages', 1, 2 ** 31 - 1);
    const messageSize = opts.messageSize === undefined ? 0 : validateInteger(opts.messageSize, 'options.messageSize', 1, 2 ** 31 - 1);
    const mode = validateMode(opts.mode, 'options.mode', 0o600);
    // A queue the kernel's limits refuse fails with error.limit saying which (the addon reads them).
    return new PosixMessageQueue(CONSTRUCT, native().open(normalized, flags, mode, maxMessages, messageSize), normalized);
  }

  /** Creates a queue, exclusively (`EEXIST` if the name exists). */
  static create(name: string, options?: PosixQueueCreateOptions): PosixMessageQueue {
    return PosixMessageQueue.#open(name, QueueFlags.CREATE | QueueFlags.EXCLUSIVE, options);
  }

  /** Opens an existing queue (`ENOENT` if missing). */
  static open(name: string): PosixMessageQueue {
    return PosixMessageQueue.#open(name, 0, undefined);
  }

  /** Opens the queue, creating it with `options` if it does not exist (`created` tells which). */
  static openOrCreate(name: string, options?: PosixQueueCreateOptions): PosixMessageQueue {
    return PosixMessageQueue.#open(name, QueueFlags.CREATE, options);
  }

  /** Removes the name (mq_unlink); the queue lives on until its last descriptor closes. */
  static unlink(name: string): void {
    native().unlink(posixName(name));
  }

  /** The queue's name, with its leading slash. */
  get name(): string {
    return this.#name;
  }

  /** Whether this handle created the queue. */
  get created(): boolean {
    return this.#native.created;
  }

  /** The queue's limits and how many messages it holds now (mq_getattr). */
  get attributes(): PosixQueueAttributes {
    this.checkOpen();
    return this.#native.attributes();
  }

  /**
   * Sends a message, waiting for room if the queue is full. The bytes are copied before this
   * returns; sends on one handle complete in call order.
   */
  send(data: MessageData, options: PosixSendOptions = {}): Promise<void> {
    try {
      const opts = validateObject<PosixSendOptions>(options, 'options');
      const priority = opts.priority === undefined ? 0 : validateInteger(opts.priority, 'options.priority', 0, PRIORITY_MAX);
      const bytes = toBytes(data);
      return this.sendOrdered(bytes, priority, opts, this.#sendBackend);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Sends if the queue has room now; returns whether it did. Never waits. */
  trySend(data: MessageData, options?: { priority?: number }): boolean {
    const priority =
      options === undefined || validateObject<{ priority?: number }>(options, 'options').priority === undefined
        ? 0
        : validateInteger(options.priority, 'options.priority', 0, PRIORITY_MAX);
    const bytes = toBytes(data);
    this.checkOpen();
    if (this.sending) return false; // earlier sends on this handle go first
    return this.#native.trySend(bytes, priority);
  }

  /**
   * Receives the highest-priority message, waiting for one if the queue is empty. When it is
   * empty, it first waits up to `spin` microseconds (default 50, as for System V queues) on this
   * thread.
   */
  receive(options: ReceiveWaitOptions = {}): Promise<PosixMessage> {
    try {
      const opts = validateObject<ReceiveWaitOptions>(options, 'options');
      const queue = this.#native;
      return this.receiveWith(
        opts,
        (spin) => this.#tryReceive(spin),
        (id, ms) => queue.receive(id, ms),
        (id, reason) => queue.stop(id, reason),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Receives a message if one is there now, else returns `null`. Never waits. */
  tryReceive(): PosixMessage | null {
    this.checkOpen();
    return this.#tryReceive();
  }

  #tryReceive(spinMicros = 0): PosixMessage | null {
    const area = this.#area;
    area.reserve(this.#messageSize);
    const length = this.#native.tryReceiveInto(area.slab, area.offset, spinMicros);
    if (length < 0) return null;
    const priority = area.uint32; // before take(), which moves on past this message
    return { data: area.take(length), priority };
  }

  /** Removes this queue's name. Allowed after `close()`. */
  unlink(): void {
    PosixMessageQueue.unlink(this.#name);
  }

  [Symbol.asyncIterator](): AsyncIterator<PosixMessage> {
    return this.messages();
  }

  /** Async iteration with wait options: `for await (const m of queue.messages({ signal }))`. */
  messages(options: ReceiveWaitOptions = {}): AsyncGenerator<PosixMessage, void, undefined> {
    return this.iterate(() => this.receive(options));
  }
}

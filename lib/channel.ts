// Channel: a single-producer single-consumer ring of variable-size messages in one shared-memory
// object. The layout and the protocol are native/include/ipckit/channel.h's (C programs use that
// header); this file implements the same protocol in JavaScript over the mapped bytes, so sending
// and receiving never cross into C++: the addon is called only to sleep on a futex and to wake a
// sleeping peer.
import { binding, requireFeature, type NativeChannelWaits } from './binding';
import { closedError, CONSTRUCT, ErrorCodes, illegalConstructor, invalidArgValue, IpcError, withLimit } from './errors';
import { slotOf } from './mapping';
import { toBytes } from './message-queue';
import { posixName } from './names';
import { SharedMemory } from './shared-memory';
import { validateInteger, validateMode, validateObject } from './validate';
import { abortedError, StopReasons, timeoutError, validateWaitOptions, Waits, type ArmedWait, type WaitOptions } from './waiting';

/** Which end of a channel a handle is. */
export type ChannelRole = 'producer' | 'consumer';

/** What a handle knows about an end of the channel: never attached, attached, closed, or its process exited. */
export type ChannelEndState = 'none' | 'attached' | 'closed' | 'gone';

/** How a handle waits. */
export interface ChannelWaitingOptions {
  /**
   * Takes this role now (the first send or receive takes it otherwise). Refused with
   * `ERR_IPC_CHANNEL_BUSY` while another live handle or process holds it.
   */
  role?: ChannelRole;
  /**
   * Microseconds (0 to 100000, default 0) a wait polls the ring on the calling thread before it
   * sleeps: for latency-critical peers on separate CPUs. The thread is busy meanwhile.
   */
  spin?: number;
  /**
   * Microseconds (0 to 1000, default 50) a Promise-returning wait sleeps on the futex on the
   * calling thread before it hands the wait to a waiter thread: a peer that answers within this
   * time costs one context switch instead of three. The event loop is held for at most this long.
   */
  syncWait?: number;
  /**
   * Microseconds (0 to 10000, default 0) the kernel may take beyond `syncWait` to end that wait.
   * With a slack of one scheduler tick (4000 on a 250 Hz kernel) the kernel ends it at a timer
   * interrupt it has programmed anyway instead of programming one for it: on virtual machines,
   * where programming the timer traps to the hypervisor, that makes a wake-up on one CPU about
   * 12 us cheaper (measured on the machines ipckit is developed on). The event loop may then be
   * held for up to `syncWait + syncWaitSlack` when the peer does not answer.
   */
  syncWaitSlack?: number;
}

export interface ChannelCreateOptions extends ChannelWaitingOptions {
  /** Ring bytes: rounded up to a power of two, from 1 KiB to 1 GiB. A message can be up to half of it, less 8 bytes. */
  capacity: number;
  /** Permission bits of the shared-memory object. Default `0o600`. */
  mode?: number;
}

export type ChannelOpenOptions = ChannelWaitingOptions;

/** Options of the waiting calls: `{ timeout, signal }`, as everywhere in ipckit. */
export type ChannelWaitOptions = WaitOptions;

// The layout (native/include/ipckit/channel.h), as indices of 32-bit words.
const MAGIC = 0x524b5049; // "IPKR"
const VERSION = 1;
const HEADER = 256;
const MIN_CAPACITY = 1024;
const MAX_CAPACITY = 2 ** 30;
const W_MAGIC = 0;
const W_VERSION = 1;
const W_HEADER_SIZE = 2;
const W_FLAGS = 3;
const W_CAPACITY = 4;
const W_MAX_MESSAGE = 5;
const W_PRODUCER = 6;
const W_CONSUMER = 7;
const W_CREATOR = 8;
const W_TAIL = 16;
const W_HEAD = 32;
const W_CONSUMER_WAITING = 48;
const W_CONSUMER_BELL = 49;
const W_PRODUCER_WAITING = 50;
const W_PRODUCER_BELL = 51;
const KIND_MESSAGE = 1;
const KIND_PADDING = 2;
const ROLE_CLOSED = -1; // 0xffffffff
const LIVENESS_MS = 200;

const PEER_CLOSED = ErrorCodes.PEER_CLOSED;
const SIZE_GRANULARITY = binding.constants.windowsSharedMemory?.sizeGranularity ?? 1;

/**
 * How a side sleeps on its bell and wakes the other's: Linux's futexes, or on Windows (where
 * WaitOnAddress does not cross processes) a named auto-reset event per bell, closed with the
 * mapping. The waiting flag and the second look before sleeping make either lossless.
 */
function channelWaits(): NativeChannelWaits {
  if (binding.sync !== undefined) return binding.sync;
  requireFeature('channelEvents', 'channels');
  return binding.channelEvents!;
}
const ChannelErrorCodes = ErrorCodes;

function endState(word: number): ChannelEndState {
  if (word === 0) return 'none';
  if (word === ROLE_CLOSED) return 'closed';
  try {
    process.kill(word >>> 0, 0);
    return 'attached';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'attached' : 'gone';
  }
}

function peerClosed(role: ChannelRole, state: ChannelEndState): IpcError {
  const error = new IpcError(
    PEER_CLOSED,
    state === 'gone' ? `The channel's ${role}'s process exited without closing it` : `The channel's ${role} closed it`,
  );
  return Object.assign(error, { peer: state });
}

function corrupt(detail: string): IpcError {
  return new IpcError(ChannelErrorCodes.CHANNEL_CORRUPT, `The channel's ring is corrupt: ${detail}. Nothing was read past it`);
}

function notAChannel(name: string, detail: string): IpcError {
  return new IpcError(ErrorCodes.INVALID_OBJECT, `'${name}' is not an ipckit channel: ${detail}`);
}

// Buffers made the way Node makes its own (a Uint8Array subclass whose prototype chain holds
// Buffer.prototype): Buffer.isBuffer() holds and every Buffer method works, and one costs less
// than half of what buffer.subarray() or Buffer.allocUnsafe() costs, which matters at 10 million
// messages a second.
class ChannelBuffer extends Uint8Array {}
Object.setPrototypeOf(ChannelBuffer.prototype, Buffer.prototype);
const newView = (memory: ArrayBuffer, start: number, length: number): Buffer => new ChannelBuffer(memory, start, length) as unknown as Buffer;
const newCopy = (memory: ArrayBuffer, start: number, length: number): Buffer => {
  // Small copies live on V8's heap (zeroed first, which costs nothing at that size); larger ones
  // get their own unzeroed memory rather than a slice of Buffer's shared pool.
  const out = length <= 256 ? (new ChannelBuffer(length) as unknown as Buffer) : Buffer.allocUnsafeSlow(length);
  if (length > 0) out.set(new Uint8Array(memory, start, length));
  return out;
};

const sleepBriefly = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** A send or receive waiting its turn (FIFO per handle), or waiting in the addon. */
interface Turn {
  deadline: number | undefined;
  signal: AbortSignal | undefined;
  armed: ArmedWait | undefined;
  /** Set when the wait was stopped (timeout, abort, close) while it is the first in its queue; the pump checks it after every wake-up. */
  stopped: string | undefined;
  /** The native wait now running for it, if any. */
  waitId: number;
  run(): boolean; // true: done
  resolve(): void;
  reject(error: unknown): void;
}

function stopError(code: string, what: string): IpcError {
  return code === ErrorCodes.TIMEOUT ? timeoutError(what) : code === ErrorCodes.ABORTED ? abortedError(what) : closedError('channel');
}

/**
 * A ring buffer of variable-size messages in one shared-memory object, with one producer and one
 * consumer (in the same or different processes, in Node or in C through `ipckit/channel.h`).
 * Messages arrive whole and in order; a producer killed mid-message never delivers a part of it.
 */
export class Channel {
  readonly #name: string;
  readonly #shm: SharedMemory;
  #buffer: Buffer;
  #memory: ArrayBuffer;
  #words: Int32Array;
  readonly #slot: number;
  readonly #capacity: number;
  readonly #mask: number;
  readonly #maxMessage: number;
  readonly #pid = process.pid;
  readonly #spin: number;
  readonly #syncWait: number;
  readonly #syncWaitSlack: number;
  readonly #waits = new Waits();
  #closed = false;
  // Producer state: the tail as this side wrote it, the head as last loaded.
  #producer = false;
  #tail = 0;
  #headSeen = 0;
  readonly #sends: Turn[] = [];
  // Consumer state: the head as this side consumed it, the tail as last loaded, and the
  // position up to which views were handed out (released by release()).
  #consumer = false;
  #head = 0;
  #tailSeen = 0;
  #viewed = 0;
  #len = 0;
  #after = 0;
  readonly #receives: Turn[] = [];
  // The peer pid last seen alive, and when.
  #livePeer = 0;
  #livePeerAt = 0;

  private constructor(token: symbol, name: string, shm: SharedMemory, capacity: number, options: ChannelWaitingOptions) {
    if (token !== CONSTRUCT) throw illegalConstructor();
    this.#name = name;
    this.#shm = shm;
    this.#buffer = shm.buffer;
    this.#memory = this.#buffer.buffer as ArrayBuffer;
    this.#words = shm.view(Int32Array);
    this.#slot = slotOf(shm);
    // The capacity #check() validated (or create() wrote), never the header word read again: a
    // peer may rewrite that word at any time, and the mapping's size does not follow it.
    this.#capacity = capacity;
    this.#mask = this.#capacity - 1;
    this.#maxMessage = this.#capacity / 2 - 8;
    this.#spin = options.spin!;
    this.#syncWait = options.syncWait!;
    this.#syncWaitSlack = options.syncWaitSlack!;
  }

  static #wrap(
    name: string,
    shm: SharedMemory,
    capacity: number,
    options: Required<Omit<ChannelWaitingOptions, 'role'>> & ChannelWaitingOptions,
  ): Channel {
    let channel: Channel;
    try {
      channel = new Channel(CONSTRUCT, name, shm, capacity, options);
      if (options.role !== undefined) channel.#claim(options.role);
    } catch (error) {
      shm.close();
      throw error;
    }
    return channel;
  }

  /** Creates a new channel object; fails with `EEXIST` if the name is taken. */
  static create(name: string, options: ChannelCreateOptions): Channel {
    const normalized = posixName(name);
    const opts = validateObject<ChannelCreateOptions>(options, 'options');
    const waiting = validateWaiting(opts);
    const requested = validateInteger(opts.capacity, 'options.capacity', 1, MAX_CAPACITY);
    let capacity = MIN_CAPACITY;
    while (capacity < requested) capacity *= 2;
    const mode = validateMode(opts.mode, 'options.mode', 0o600);
    const shm = SharedMemory.create(normalized, { size: HEADER + capacity, mode });
    const words = shm.view(Int32Array, 0, HEADER / 4);
    words[W_VERSION] = VERSION;
    words[W_HEADER_SIZE] = HEADER;
    words[W_FLAGS] = 0;
    words[W_CAPACITY] = capacity;
    words[W_MAX_MESSAGE] = capacity / 2 - 8;
    words[W_CREATOR] = process.pid;
    Atomics.store(words, W_MAGIC, MAGIC);
    try {
      return Channel.#wrap(normalized, shm, capacity, waiting);
    } catch (error) {
      // #wrap closed the mapping; a channel nobody could use should not keep the name.
      SharedMemory.unlink(normalized);
      throw error;
    }
  }

  /**
   * Opens an existing channel. An object that is not a channel (or of another layout version) is
   * refused with `ERR_IPC_INVALID_OBJECT` (`ERR_IPC_UNSUPPORTED_VERSION`) and left untouched.
   */
  static open(name: string, options?: ChannelOpenOptions): Channel {
    const normalized = posixName(name);
    const waiting = validateWaiting(validateObject<ChannelOpenOptions>(options, 'options'));
    const shm = SharedMemory.open(normalized);
    let capacity: number;
    try {
      capacity = Channel.#check(normalized, shm);
    } catch (error) {
      shm.close();
      throw error;
    }
    return Channel.#wrap(normalized, shm, capacity, waiting);
  }

  /** Checks the header against the layout and the object's size; returns the capacity it checked. */
  static #check(name: string, shm: SharedMemory): number {
    const size = shm.size;
    if (size < HEADER) throw notAChannel(name, `${size} bytes is smaller than a channel's ${HEADER}-byte header`);
    const words = shm.view(Int32Array, 0, HEADER / 4);
    // A creator in another process may be writing the header now: its magic comes last.
    let magic = Atomics.load(words, W_MAGIC);
    for (let i = 0; magic === 0 && i < 20; i++) {
      sleepBriefly(5);
      magic = Atomics.load(words, W_MAGIC);
    }
    if (magic !== MAGIC)
      throw notAChannel(name, `its first word is 0x${(magic >>> 0).toString(16).padStart(8, '0')}, not the magic 0x${MAGIC.toString(16)} ("IPKR")`);
    const version = words[W_VERSION] >>> 0;
    if (version !== VERSION) {
      throw new IpcError(
        ChannelErrorCodes.UNSUPPORTED_VERSION,
        `'${name}' is a channel of layout version ${version}; this ipckit reads version ${VERSION}`,
      );
    }
    const capacity = words[W_CAPACITY] >>> 0;
    if (words[W_HEADER_SIZE] !== HEADER) throw notAChannel(name, `its header size is ${words[W_HEADER_SIZE] >>> 0}, not ${HEADER}`);
    if (words[W_FLAGS] !== 0)
      throw notAChannel(name, `it has flags 0x${(words[W_FLAGS] >>> 0).toString(16)} that version ${VERSION} does not define`);
    if (capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
      throw notAChannel(name, `its capacity ${capacity} is not a power of two from ${MIN_CAPACITY} to ${MAX_CAPACITY}`);
    }
    if (words[W_MAX_MESSAGE] >>> 0 !== capacity / 2 - 8)
      throw notAChannel(name, `its max_message ${words[W_MAX_MESSAGE] >>> 0} disagrees with its capacity ${capacity}`);
    // Windows opens a mapping with its size in whole pages (binding.constants.windowsSharedMemory).
    const expected = HEADER + capacity;
    const rounded = Math.ceil(expected / SIZE_GRANULARITY) * SIZE_GRANULARITY;
    if (size !== expected && size !== rounded) throw notAChannel(name, `the object has ${size} bytes but its header says ${expected}`);
    return capacity;
  }

  /** Removes the channel's name; open handles keep working. */
  static unlink(name: string): void {
    SharedMemory.unlink(name);
  }

  /** The object's name, with its leading slash. */
  get name(): string {
    return this.#name;
  }

  /** Ring bytes. */
  get capacity(): number {
    return this.#capacity;
  }

  /** The largest message, in bytes: `capacity / 2 - 8`. */
  get maxMessageSize(): number {
    return this.#maxMessage;
  }

  /** The roles this handle holds: `'producer'`, `'consumer'`, `'both'`, or `null` before the first send or receive. */
  get role(): ChannelRole | 'both' | null {
    if (this.#producer && this.#consumer) return 'both';
    return this.#producer ? 'producer' : this.#consumer ? 'consumer' : null;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The state of one end, as its role word in the header says (and, for a pid, whether that process lives). */
  stateOf(role: ChannelRole): ChannelEndState {
    this.#checkOpen();
    validateRole(role);
    return endState(Atomics.load(this.#words, role === 'producer' ? W_PRODUCER : W_CONSUMER));
  }

  /** The other end's state, for a handle that holds one role. */
  get peer(): ChannelEndState {
    this.#checkOpen();
    if (this.#producer === this.#consumer) {
      throw new IpcError(ChannelErrorCodes.CHANNEL_ROLE, 'peer is defined for a handle that holds exactly one role');
    }
    return this.stateOf(this.#producer ? 'consumer' : 'producer');
  }

  /** The bytes of the ring in use now (messages not yet received, with their headers and padding). */
  get pendingBytes(): number {
    this.#checkOpen();
    return (Atomics.load(this.#words, W_TAIL) - Atomics.load(this.#words, W_HEAD)) >>> 0;
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError('channel');
  }

  #claim(role: ChannelRole): void {
    this.#checkOpen();
    if (role === 'producer' ? this.#producer : this.#consumer) return;
    const index = role === 'producer' ? W_PRODUCER : W_CONSUMER;
    const words = this.#words;
    let seen = Atomics.load(words, index);
    for (;;) {
      if (seen === this.#pid) {
        throw Object.assign(
          new IpcError(ChannelErrorCodes.CHANNEL_BUSY, `The channel '${this.#name}' already has a ${role}: another handle in this process`),
          {
            pid: this.#pid,
          },
        );
      }
      if (endState(seen) === 'attached') {
        throw Object.assign(
          new IpcError(ChannelErrorCodes.CHANNEL_BUSY, `The channel '${this.#name}' already has a ${role}: process ${seen >>> 0}`),
          {
            pid: seen >>> 0,
          },
        );
      }
      const before = Atomics.compareExchange(words, index, seen, this.#pid);
      if (before === seen) break;
      seen = before;
    }
    if (role === 'producer') {
      this.#producer = true;
      this.#tail = Atomics.load(words, W_TAIL);
      this.#headSeen = Atomics.load(words, W_HEAD);
    } else {
      this.#consumer = true;
      this.#head = Atomics.load(words, W_HEAD);
      this.#viewed = this.#head;
      this.#tailSeen = Atomics.load(words, W_TAIL);
    }
  }

  #asProducer(): void {
    if (this.#producer) return;
    this.#claim('producer');
  }

  #asConsumer(): void {
    if (this.#consumer) return;
    this.#claim('consumer');
  }

  // ---- producer ----

  #tooLarge(length: number): Error {
    return withLimit(
      new IpcError(
        ErrorCodes.MESSAGE_TOO_LARGE,
        `A ${length}-byte message is larger than this channel's maxMessageSize, ${this.#maxMessage} bytes (capacity / 2 - 8)`,
      ),
      { name: 'maxMessageSize', value: this.#maxMessage },
    );
  }

  /** Writes one record without publishing it: false when it does not fit now. */
  #write(data: Uint8Array): boolean {
    const length = data.byteLength;
    const need = 8 + ((length + 7) & ~7);
    let tail = this.#tail;
    let offset = tail & this.#mask;
    const toEnd = this.#capacity - offset;
    const total = need <= toEnd ? need : toEnd + need;
    if (this.#capacity - ((tail - this.#headSeen) >>> 0) < total) {
      this.#headSeen = Atomics.load(this.#words, W_HEAD);
      if (this.#capacity - ((tail - this.#headSeen) >>> 0) < total) return false;
    }
    const words = this.#words;
    if (need > toEnd) {
      const at = (HEADER + offset) >> 2;
      words[at] = toEnd - 8;
      words[at + 1] = KIND_PADDING;
      tail = (tail + toEnd) | 0;
      offset = 0;
    }
    const at = (HEADER + offset) >> 2;
    words[at] = length;
    words[at + 1] = KIND_MESSAGE;
    if (length > 0) this.#buffer.set(data, HEADER + offset + 8);
    this.#tail = (tail + need) | 0;
    return true;
  }

  #publishTail(): void {
    const words = this.#words;
    Atomics.store(words, W_TAIL, this.#tail);
    if (Atomics.load(words, W_CONSUMER_WAITING) !== 0) this.#ring(W_CONSUMER_WAITING, W_CONSUMER_BELL);
  }

  #ring(waiting: number, bell: number): void {
    const words = this.#words;
    if (Atomics.exchange(words, waiting, 0) !== 0) {
      Atomics.add(words, bell, 1);
      channelWaits().futexWake(this.#slot, bell * 4, 1);
    }
  }

  #bytes(data: unknown): Uint8Array {
    const bytes = data instanceof Uint8Array && data.byteLength > 0 ? data : toBytes(data);
    if (bytes.byteLength > this.#maxMessage) throw this.#tooLarge(bytes.byteLength);
    return bytes;
  }

  /**
   * Sends one message if there is room now: `true` when sent, `false` when the ring is full (or
   * earlier `send()`s of this handle are still waiting, which keep their place). A message larger
   * than `maxMessageSize` throws `ERR_IPC_MESSAGE_TOO_LARGE` and nothing is written.
   */
  trySend(data: Uint8Array | ArrayBufferView | ArrayBuffer | string): boolean {
    // The common case, flat: a Uint8Array that fits before the ring's end in room already known.
    if (this.#producer && this.#sends.length === 0 && data instanceof Uint8Array) {
      const length = data.byteLength;
      const tail = this.#tail;
      const offset = tail & this.#mask;
      const need = 8 + ((length + 7) & ~7);
      if (length !== 0 && length <= this.#maxMessage && need <= this.#capacity - offset && this.#capacity - ((tail - this.#headSeen) >>> 0) >= need) {
        const words = this.#words;
        const at = (HEADER + offset) >> 2;
        words[at] = length;
        words[at + 1] = KIND_MESSAGE;
        this.#buffer.set(data, HEADER + offset + 8);
        const next = (tail + need) | 0;
        this.#tail = next;
        Atomics.store(words, W_TAIL, next);
        if (Atomics.load(words, W_CONSUMER_WAITING) !== 0) this.#ring(W_CONSUMER_WAITING, W_CONSUMER_BELL);
        return true;
      }
    }
    this.#asProducer();
    const bytes = this.#bytes(data);
    if (this.#sends.length > 0 || !this.#write(bytes)) return false;
    this.#publishTail();
    return true;
  }

  /** Sends messages from the start of `list` while they fit, publishing them at once; returns how many were sent. */
  trySendBatch(list: readonly (Uint8Array | ArrayBufferView | ArrayBuffer | string)[]): number {
    this.#asProducer();
    const all = this.#list(list);
    if (this.#sends.length > 0) return 0;
    let n = 0;
    while (n < all.length && this.#write(all[n])) n++;
    if (n > 0) this.#publishTail();
    return n;
  }

  #list(list: unknown): Uint8Array[] {
    if (!Array.isArray(list)) throw invalidArgValue('list', typeof list, 'must be an array of messages');
    return list.map((data) => this.#bytes(data));
  }

  /** Sends one message, waiting for room. Rejects with `ERR_IPC_PEER_CLOSED` if the consumer closes or exits while the ring stays full. */
  send(data: Uint8Array | ArrayBufferView | ArrayBuffer | string, options?: ChannelWaitOptions): Promise<void> {
    try {
      this.#asProducer();
      const bytes = this.#bytes(data);
      if (options === undefined && this.#sends.length === 0 && this.#write(bytes)) {
        this.#publishTail();
        return Promise.resolve();
      }
      return this.#queueSend([bytes], options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Sends every message of `list` in order, publishing as many at once as fit; waits for room as
   * needed. If it fails part way (a timeout, say), `error.sent` tells how many were sent.
   */
  sendBatch(list: readonly (Uint8Array | ArrayBufferView | ArrayBuffer | string)[], options?: ChannelWaitOptions): Promise<void> {
    try {
      this.#asProducer();
      return this.#queueSend(this.#list(list), options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #queueSend(list: Uint8Array[], options: ChannelWaitOptions | undefined): Promise<void> {
    const { timeout, signal } = validateWaitOptions(validateObject<ChannelWaitOptions>(options, 'options'));
    if (signal?.aborted) return Promise.reject(abortedError('send'));
    let sent = 0;
    const run = (): boolean => {
      let n = sent;
      while (n < list.length && this.#write(list[n])) n++;
      if (n > sent) this.#publishTail();
      sent = n;
      return sent === list.length;
    };
    if (this.#sends.length === 0 && run()) return Promise.resolve();
    if (timeout === 0) return Promise.reject(Object.assign(timeoutError('send'), { sent }));
    return this.#enqueue(this.#sends, 'producer', timeout, signal, run, (error) => Object.assign(error as object, { sent }));
  }

  /** Sends one message, blocking the calling thread while the ring is full (for workers and scripts). */
  sendSync(data: Uint8Array | ArrayBufferView | ArrayBuffer | string, options?: { timeout?: number }): void {
    this.#asProducer();
    const bytes = this.#bytes(data);
    const { timeout } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
    if (this.#sends.length === 0 && this.#write(bytes)) {
      this.#publishTail();
      return;
    }
    if (this.#sends.length > 0) throw new IpcError(ChannelErrorCodes.CHANNEL_ROLE, 'sendSync() cannot overtake the send()s this handle has waiting');
    this.#waitSync('producer', timeout, () => this.#write(bytes), 'send');
    this.#publishTail();
  }

  // ---- consumer ----

  /**
   * Finds the next message at or after `from`: its payload's byte offset in the mapping (its
   * length in #len), or -1 when there is none. Padding is skipped. Checks every record against the
   * layout, so a hostile or broken peer cannot make it read outside the ring.
   */
  #find(from: number): number {
    const words = this.#words;
    let head = from;
    for (;;) {
      if (head === this.#tailSeen) {
        this.#tailSeen = Atomics.load(words, W_TAIL);
        if (head === this.#tailSeen) return -1;
      }
      const available = (this.#tailSeen - head) >>> 0;
      const offset = head & this.#mask;
      const toEnd = this.#capacity - offset;
      if (available > this.#capacity || available < 8 || (offset & 7) !== 0) {
        throw corrupt(`the producer published ${available} bytes at ring offset ${offset}`);
      }
      const at = (HEADER + offset) >> 2;
      const length = words[at] >>> 0;
      const kind = words[at + 1];
      if (kind === KIND_PADDING) {
        if (length !== toEnd - 8 || available < toEnd) throw corrupt(`padding of ${length} bytes at ring offset ${offset}`);
        head = (head + toEnd) | 0;
        continue;
      }
      const need = 8 + ((length + 7) & ~7);
      if (kind !== KIND_MESSAGE || length > this.#maxMessage || need > available || need > toEnd) {
        throw corrupt(`a record of kind ${kind} and length ${length} at ring offset ${offset}`);
      }
      this.#len = length;
      this.#after = (head + need) | 0;
      return HEADER + offset + 8;
    }
  }

  #publishHead(head: number): void {
    const words = this.#words;
    this.#head = head;
    Atomics.store(words, W_HEAD, head);
    if (Atomics.load(words, W_PRODUCER_WAITING) !== 0) this.#ring(W_PRODUCER_WAITING, W_PRODUCER_BELL);
  }

  #copyOut(at: number): Buffer {
    return newCopy(this.#memory, at, this.#len);
  }

  #checkNoViews(): void {
    if (this.#viewed !== this.#head) {
      throw new IpcError(ChannelErrorCodes.CHANNEL_ROLE, 'release() the views from receiveView() before receiving copies');
    }
  }

  /** Receives the next message (a copy) if there is one, else `null`. */
  tryReceive(): Buffer | null {
    if (this.#consumer && this.#viewed === this.#head) {
      // The common case, flat (see tryReceiveView).
      const head = this.#head;
      const available = (this.#tailSeen - head) >>> 0;
      if (available >= 8 && available <= this.#capacity) {
        const offset = head & this.#mask;
        const at = (HEADER + offset) >> 2;
        const words = this.#words;
        const length = words[at] >>> 0;
        const need = 8 + ((length + 7) & ~7);
        if (words[at + 1] === KIND_MESSAGE && length <= this.#maxMessage && need <= available && need <= this.#capacity - offset) {
          const out = newCopy(this.#memory, HEADER + offset + 8, length);
          const next = (head + need) | 0;
          this.#viewed = next;
          this.#head = next;
          Atomics.store(words, W_HEAD, next);
          if (Atomics.load(words, W_PRODUCER_WAITING) !== 0) this.#ring(W_PRODUCER_WAITING, W_PRODUCER_BELL);
          return out;
        }
      }
    }
    this.#asConsumer();
    this.#checkNoViews();
    const at = this.#find(this.#head);
    if (at < 0) return null;
    const out = this.#copyOut(at);
    this.#viewed = this.#after;
    this.#publishHead(this.#after);
    return out;
  }

  /** Receives up to `max` messages that are in the ring now (copies), releasing their room at once. */
  tryReceiveBatch(max: number): Buffer[] {
    this.#asConsumer();
    const limit = validateInteger(max, 'max', 1);
    this.#checkNoViews();
    const out: Buffer[] = [];
    let head = this.#head;
    while (out.length < limit) {
      const at = this.#find(head);
      if (at < 0) break;
      out.push(this.#copyOut(at));
      head = this.#after;
    }
    if (out.length > 0) {
      this.#viewed = head;
      this.#publishHead(head);
    }
    return out;
  }

  /**
   * The next message as a zero-copy view into the ring, or `null`. Views stay valid until
   * `release()`; after it their bytes may be overwritten by new messages. Several views may be
   * taken before one `release()`.
   */
  tryReceiveView(): Buffer | null {
    if (this.#consumer) {
      // The common case, flat: a message record at a position already known to be published.
      const head = this.#viewed;
      const available = (this.#tailSeen - head) >>> 0;
      if (available >= 8 && available <= this.#capacity) {
        const offset = head & this.#mask;
        const at = (HEADER + offset) >> 2;
        const words = this.#words;
        const length = words[at] >>> 0;
        const need = 8 + ((length + 7) & ~7);
        if (words[at + 1] === KIND_MESSAGE && length <= this.#maxMessage && need <= available && need <= this.#capacity - offset) {
          this.#viewed = (head + need) | 0;
          const start = HEADER + offset + 8;
          return newView(this.#memory, start, length);
        }
      }
    }
    this.#asConsumer();
    const at = this.#find(this.#viewed);
    if (at < 0) return null;
    const view = newView(this.#memory, at, this.#len);
    this.#viewed = this.#after;
    return view;
  }

  /** Releases the room of every view taken since the last `release()`. */
  release(): void {
    this.#asConsumer();
    if (this.#viewed !== this.#head) this.#publishHead(this.#viewed);
  }

  /** Receives the next message (a copy), waiting for one. Rejects with `ERR_IPC_PEER_CLOSED` once the producer closed or exited and the ring is empty. */
  receive(options?: ChannelWaitOptions): Promise<Buffer> {
    try {
      if (options === undefined && this.#receives.length === 0) {
        const message = this.tryReceive();
        if (message !== null) return Promise.resolve(message);
      }
      return this.#queueReceive(options, () => this.tryReceive());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** As `receive()`, for a zero-copy view (see `tryReceiveView()`). */
  receiveView(options?: ChannelWaitOptions): Promise<Buffer> {
    try {
      return this.#queueReceive(options, () => this.tryReceiveView());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Waits for at least one message, then receives up to `max` (copies). */
  receiveBatch(max: number, options?: ChannelWaitOptions): Promise<Buffer[]> {
    try {
      validateInteger(max, 'max', 1);
      return this.#queueReceive(options, () => {
        const list = this.tryReceiveBatch(max);
        return list.length > 0 ? list : null;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #queueReceive<T>(options: ChannelWaitOptions | undefined, take: () => T | null): Promise<T> {
    this.#asConsumer();
    const { timeout, signal } = validateWaitOptions(validateObject<ChannelWaitOptions>(options, 'options'));
    if (signal?.aborted) return Promise.reject(abortedError('receive'));
    let result: T | null = null;
    const run = (): boolean => {
      result = take();
      return result !== null;
    };
    if (this.#receives.length === 0 && run()) return Promise.resolve(result as T);
    if (timeout === 0) return Promise.reject(timeoutError('receive'));
    return this.#enqueue(this.#receives, 'consumer', timeout, signal, run, (error) => error).then(() => result as T);
  }

  /** Receives the next message (a copy), blocking the calling thread while the ring is empty (for workers and scripts). */
  receiveSync(options?: { timeout?: number }): Buffer {
    this.#asConsumer();
    const { timeout } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
    if (this.#receives.length > 0)
      throw new IpcError(ChannelErrorCodes.CHANNEL_ROLE, 'receiveSync() cannot overtake the receive()s this handle has waiting');
    let message = this.tryReceive();
    if (message !== null) return message;
    this.#waitSync(
      'consumer',
      timeout,
      () => {
        message = this.tryReceive();
        return message !== null;
      },
      'receive',
    );
    return message as unknown as Buffer;
  }

  /** Yields every message (copies) until the producer closes or exits and the ring is drained, or this handle closes. */
  [Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    // A receiver that is not a Channel fails here, at the call, like every other method (a
    // generator would start only at the first next(), and fail there uncoded).
    void this.#closed;
    return this.#messages();
  }

  async *#messages(): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      let message: Buffer;
      try {
        message = await this.receive();
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === PEER_CLOSED || code === ErrorCodes.CLOSED) return;
        throw error;
      }
      yield message;
    }
  }

  // ---- waiting ----

  /** The sleeping protocol's words for a side: its waiting flag and bell, and the peer's role word. */
  static #sideWords(side: ChannelRole): { waiting: number; bell: number; peer: number; peerRole: ChannelRole } {
    return side === 'producer'
      ? { waiting: W_PRODUCER_WAITING, bell: W_PRODUCER_BELL, peer: W_CONSUMER, peerRole: 'consumer' }
      : { waiting: W_CONSUMER_WAITING, bell: W_CONSUMER_BELL, peer: W_PRODUCER, peerRole: 'producer' };
  }

  /** Polls `ready` for the spin time: true when it held. */
  #spinFor(ready: () => boolean, deadline: number | undefined): boolean {
    if (this.#spin === 0) return false;
    let end = performance.now() + this.#spin / 1000;
    if (deadline !== undefined && deadline < end) end = deadline;
    do {
      for (let i = 0; i < 32; i++) if (ready()) return true;
    } while (performance.now() < end);
    return false;
  }

  /**
   * Prepares to sleep: loads the bell, raises the waiting flag and checks again. Returns the bell's
   * value to sleep on, or undefined when `ready` held. Throws ERR_IPC_PEER_CLOSED when the peer
   * closed or exited.
   */
  #prepareSleep(side: ChannelRole, ready: () => boolean): number | undefined {
    const words = this.#words;
    const { waiting, bell, peer, peerRole } = Channel.#sideWords(side);
    const ring = Atomics.load(words, bell);
    Atomics.store(words, waiting, 1);
    if (ready()) {
      Atomics.store(words, waiting, 0);
      return undefined;
    }
    // A closed peer says so in its role word (and rings the bell); only whether a pid still lives
    // takes a system call, made at most every LIVENESS_MS: a sleep lasts at most that long.
    const word = Atomics.load(words, peer);
    let state: ChannelEndState = word === ROLE_CLOSED ? 'closed' : 'attached';
    if (word !== ROLE_CLOSED && word !== 0) {
      const now = performance.now();
      if (word !== this.#livePeer || now - this.#livePeerAt >= LIVENESS_MS) {
        state = endState(word);
        this.#livePeer = state === 'attached' ? word : 0;
        this.#livePeerAt = now;
      }
    }
    if (state === 'closed' || state === 'gone') {
      Atomics.store(words, waiting, 0);
      if (ready()) return undefined;
      throw peerClosed(peerRole, state);
    }
    return ring;
  }

  #waitSync(side: ChannelRole, timeout: number | undefined, ready: () => boolean, what: string): void {
    const deadline = timeout === undefined ? undefined : performance.now() + timeout;
    if (this.#spinFor(ready, deadline)) return;
    const { bell } = Channel.#sideWords(side);
    const sync = channelWaits();
    for (;;) {
      const ring = this.#prepareSleep(side, ready);
      if (ring === undefined) return;
      let slice = LIVENESS_MS;
      if (deadline !== undefined) {
        const left = deadline - performance.now();
        if (left <= 0) throw timeoutError(what);
        slice = Math.min(slice, Math.ceil(left));
      }
      sync.futexWait(this.#slot, bell * 4, ring, slice);
      this.#checkOpen();
    }
  }

  /** Queues a wait behind the handle's earlier ones of the same side; `run` is tried at every wake-up. */
  #enqueue(
    queue: Turn[],
    side: ChannelRole,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
    run: () => boolean,
    decorate: (error: unknown) => unknown,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const turn: Turn = {
        deadline: timeout === undefined ? undefined : performance.now() + timeout,
        signal,
        armed: undefined,
        stopped: undefined,
        waitId: 0,
        run,
        resolve,
        reject: (error) => reject(decorate(error)),
      };
      const what = side === 'producer' ? 'send' : 'receive';
      turn.armed = this.#waits.arm(timeout, signal, (code) => {
        if (queue[0] === turn) {
          // The pump checks `stopped` after every wake-up. Stopping the native wait alone is not
          // enough: that wait may have just ended (a slice elapsed, the bell rang) with its
          // continuation still queued, and the pump would then sleep again, unaware of the stop.
          turn.stopped = code;
          if (turn.waitId !== 0) {
            channelWaits().waitStop(this.#slot, turn.waitId, code === ErrorCodes.TIMEOUT ? StopReasons.timeout : StopReasons.aborted);
          }
        } else {
          queue.splice(queue.indexOf(turn), 1);
          turn.reject(stopError(code, what));
        }
      });
      queue.push(turn);
      if (queue.length === 1) void this.#pump(queue, side);
    });
  }

  /** Serves a queue's turns in order, sleeping on the side's bell between tries. */
  async #pump(queue: Turn[], side: ChannelRole): Promise<void> {
    const { bell } = Channel.#sideWords(side);
    const what = side === 'producer' ? 'send' : 'receive';
    const sync = channelWaits();
    while (queue.length > 0) {
      const turn = queue[0];
      try {
        turn.armed!.handOff();
        let brief = true;
        for (;;) {
          if (turn.stopped !== undefined) throw stopError(turn.stopped, what);
          if (this.#closed) throw closedError('channel');
          if (turn.run()) break;
          if (this.#spinFor(turn.run, turn.deadline)) break;
          const ring = this.#prepareSleep(side, turn.run);
          if (ring === undefined) break;
          let slice = LIVENESS_MS;
          if (turn.deadline !== undefined) {
            const left = turn.deadline - performance.now();
            if (left <= 0) throw timeoutError(what);
            slice = Math.min(slice, Math.ceil(left));
          }
          if (brief && this.#syncWait > 0) {
            brief = false;
            if (sync.futexWaitBrief(this.#slot, bell * 4, ring, Math.min(this.#syncWait, slice * 1000), this.#syncWaitSlack) !== 2) continue;
          }
          const id = this.#waits.nextId();
          turn.waitId = id;
          try {
            await sync.futexWaitAsync(this.#slot, id, slice, bell * 4, ring, this.#waits.referenced);
          } finally {
            turn.waitId = 0;
          }
        }
        turn.armed!.disarm();
        queue.shift();
        turn.resolve();
      } catch (error) {
        turn.armed!.disarm();
        queue.shift();
        const code = (error as { code?: string }).code;
        turn.reject(code === ErrorCodes.CLOSED ? closedError('channel') : error);
      }
    }
  }

  // ---- lifetime ----

  /** Lets pending waits keep the process alive (the default). */
  ref(): this {
    this.#waits.setReferenced(true);
    this.#refWaits(true);
    return this;
  }

  /** Lets the process exit while waits are pending on this handle. */
  unref(): this {
    this.#waits.setReferenced(false);
    this.#refWaits(false);
    return this;
  }

  #refWaits(referenced: boolean): void {
    if (this.#closed) return;
    for (const queue of [this.#sends, this.#receives]) {
      const id = queue[0]?.waitId;
      if (id) channelWaits().waitRef(this.#slot, id, referenced);
    }
  }

  /**
   * Gives up this handle's roles (the peer sees 'closed' and a sleeping peer wakes), settles
   * pending waits with `ERR_IPC_CLOSED` and unmaps the ring: views from `receiveView()` read as
   * empty afterwards. Idempotent. The object stays until `unlink()`.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const words = this.#words;
    const sync = channelWaits();
    for (const [held, own, bell] of [
      [this.#producer, W_PRODUCER, W_CONSUMER_BELL],
      [this.#consumer, W_CONSUMER, W_PRODUCER_BELL],
    ] as const) {
      if (!held) continue;
      Atomics.compareExchange(words, own, this.#pid, ROLE_CLOSED);
      Atomics.add(words, bell, 1);
      sync.futexWake(this.#slot, bell * 4, 1);
    }
    this.#producer = false;
    this.#consumer = false;
    // Turns behind the first never reached the addon; the first ones' native waits are settled
    // with ERR_IPC_CLOSED by the mapping's close below, and their pumps reject them.
    for (const queue of [this.#sends, this.#receives]) {
      for (const turn of queue.splice(1)) {
        turn.armed?.disarm();
        turn.reject(closedError('channel'));
      }
      if (queue[0] !== undefined) queue[0].stopped = ErrorCodes.CLOSED;
    }
    this.#shm.close();
    this.#buffer = Buffer.alloc(0);
    this.#memory = new ArrayBuffer(0);
    this.#words = new Int32Array(0);
  }

  /** Removes the channel's name (allowed after `close()`). */
  unlink(): void {
    Channel.unlink(this.#name);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function validateWaiting(options: ChannelWaitingOptions): Required<Omit<ChannelWaitingOptions, 'role'>> & ChannelWaitingOptions {
  validateRole(options.role);
  return {
    role: options.role,
    spin: options.spin === undefined ? 0 : validateInteger(options.spin, 'options.spin', 0, 100000),
    syncWait: options.syncWait === undefined ? 50 : validateInteger(options.syncWait, 'options.syncWait', 0, 1000),
    syncWaitSlack: options.syncWaitSlack === undefined ? 0 : validateInteger(options.syncWaitSlack, 'options.syncWaitSlack', 0, 10000),
  };
}

function validateRole(role: unknown): void {
  if (role !== undefined && role !== 'producer' && role !== 'consumer') {
    throw invalidArgValue('options.role', role, "must be 'producer' or 'consumer'");
  }
}

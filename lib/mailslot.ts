// Windows mailslots: one server (the process that created the slot) receives whole messages that
// any number of writers send to its name. native/win/mailslot.cc does the Win32 calls; names,
// options, message sizes and the default wait are decided here.
import { binding, requireFeature, type NativeMailslot, type NativeMailslotWriter } from './binding';
import { closedError, CONSTRUCT, constructing, ErrorCodes, invalidArgValue, IpcError, withLimit } from './errors';
import { WaitingHandle } from './handle';
import { toBytes, type MessageData } from './message-queue';
import { validateInteger, validateObject, validateString } from './validate';
import { abortedError, Lane, timeoutError, validateWaitOptions, type WaitOptions } from './waiting';

/** The longest mailslot name, in UTF-16 code units with its prefix: MAX_PATH (260) less the terminating NUL. */
export const MAILSLOT_NAME_MAX = 259;

/**
 * The most bytes one message may have when it is sent to another computer or broadcast to a
 * domain (`\\host\mailslot\name`, `\\*\mailslot\name`): Windows carries such a message in one
 * datagram of at most 424 bytes. Messages to this computer's mailslots (`\\.\mailslot\name`) may
 * be as large as one WriteFile writes (4294967295 bytes), within the slot's `maxMessageSize`.
 */
export const MAILSLOT_REMOTE_MESSAGE_MAX = 424;

const WRITE_MAX = 0xffffffff;
const TIMEOUT_MAX = 2 ** 31 - 1;

// Characters no name level may hold (Windows' reserved path characters and the control
// characters); a backslash separates levels.
// eslint-disable-next-line no-control-regex
const RESERVED = /[<>:"/|?*\u0000-\u001f]/;

/** Where a name leads: `host` is '.' for this computer, '*' for a broadcast, else a computer or domain. */
interface MailslotAddress {
  name: string;
  host: string;
}

function parseName(value: unknown, argName: string): MailslotAddress {
  const text = validateString(value, argName);
  if (text.length === 0) throw invalidArgValue(argName, value, 'must not be empty');
  if (text.includes('\0')) throw invalidArgValue(argName, value, 'must not contain null characters');
  let host = '.';
  let path = text;
  if (text.startsWith('\\')) {
    const match = /^\\\\([^\\]*)\\([^\\]*)\\([\s\S]*)$/.exec(text);
    if (match === null || match[2].toLowerCase() !== 'mailslot') {
      throw invalidArgValue(argName, value, 'must be a bare name or start with \\\\.\\mailslot\\ (a mailslot name, not another device or path)');
    }
    host = match[1];
    path = match[3];
    if (host.length === 0 || (host !== '*' && (RESERVED.test(host) || host.trim() !== host))) {
      throw invalidArgValue(argName, value, "must name '.' (this computer), '*' (a broadcast) or a computer or domain after \\\\");
    }
  }
  for (const level of path.split('\\')) {
    if (level.length === 0) throw invalidArgValue(argName, value, 'must not have an empty name or an empty level between backslashes');
    if (level === '.' || level === '..') throw invalidArgValue(argName, value, 'must not have "." or ".." levels');
    if (RESERVED.test(level)) throw invalidArgValue(argName, value, 'must not contain the reserved characters < > : " / | ? * or control characters');
    if (level.endsWith('.') || level.endsWith(' ')) {
      throw invalidArgValue(argName, value, 'must not have a level that ends in a dot or a space (Windows would strip it)');
    }
  }
  const name = `\\\\${host}\\mailslot\\${path}`;
  if (name.length > MAILSLOT_NAME_MAX) {
    throw invalidArgValue(
      argName,
      value,
      `must be at most ${MAILSLOT_NAME_MAX} characters with its \\\\.\\mailslot\\ prefix (MAX_PATH), not ${name.length}`,
    );
  }
  return { name, host };
}

/**
 * @internal The full name of a mailslot: `'jobs'` is `\\.\mailslot\jobs`. Throws
 * ERR_INVALID_ARG_VALUE for anything Windows would refuse or read as another object.
 */
export function mailslotName(value: unknown, argName = 'name'): string {
  return parseName(value, argName).name;
}

function checkSize(bytes: Uint8Array, address: MailslotAddress): void {
  const size = bytes.byteLength;
  if (address.host !== '.' && size > MAILSLOT_REMOTE_MESSAGE_MAX) {
    throw withLimit(
      new IpcError(
        ErrorCodes.MESSAGE_TOO_LARGE,
        `a message of ${size} bytes exceeds the ${MAILSLOT_REMOTE_MESSAGE_MAX} bytes a mailslot message may have when sent to another computer or broadcast (${address.name})`,
      ),
      { name: 'mailslot remote message size', value: MAILSLOT_REMOTE_MESSAGE_MAX },
    );
  }
  if (size > WRITE_MAX) {
    throw withLimit(
      new IpcError(ErrorCodes.MESSAGE_TOO_LARGE, `a message of ${size} bytes exceeds the most one WriteFile writes (${WRITE_MAX} bytes)`),
      { name: 'WriteFile', value: WRITE_MAX },
    );
  }
}

export interface MailslotCreateOptions {
  /**
   * The largest message the slot accepts, in bytes; a larger write fails on the writer's side.
   * 0 (the default) accepts messages of any size, as in Windows.
   */
  maxMessageSize?: number;
  /**
   * How long a `receive()` without a `timeout` of its own waits, in milliseconds: 0 does not
   * wait, `Infinity` or omitted waits forever (MAILSLOT_WAIT_FOREVER).
   */
  readTimeout?: number;
}

/** What GetMailslotInfo says of a slot, with its default receive wait. */
export interface MailslotInfo {
  /** The size of the next message, in bytes, or `null` when none is waiting. */
  nextSize: number | null;
  /** How many messages are waiting. */
  messageCount: number;
  /** The slot's largest message (0: any size). */
  maxMessageSize: number;
  /** The wait of a receive without its own timeout, in milliseconds (`Infinity`: forever). */
  readTimeout: number;
}

function native(): Required<Pick<typeof binding, 'createMailslot' | 'openMailslotWriter' | 'sendMailslot'>> {
  requireFeature('mailslot', 'Mailslots');
  return { createMailslot: binding.createMailslot!, openMailslotWriter: binding.openMailslotWriter!, sendMailslot: binding.sendMailslot! };
}

/**
 * A Windows mailslot, as its server: the handle that receives. Messages keep their boundaries
 * and arrive in the order they were written. Receives block on the addon's waiter threads, never
 * on the event loop or the libuv threadpool. The slot (and every message still in it) goes away
 * when it is closed.
 */
export class Mailslot extends WaitingHandle implements AsyncIterable<Buffer> {
  readonly #native: NativeMailslot;
  readonly #name: string;
  readonly #readTimeout: number | undefined;
  // Receives start one at a time, in the order they were called: the addon's waiter threads
  // would otherwise race for the slot's reader mutex, which Windows does not grant in order.
  readonly #receives: Lane;
  #receiving = 0;

  private constructor(token: symbol, handle: NativeMailslot, name: string, readTimeout: number | undefined) {
    super(constructing(token), handle, `mailslot '${name}'`);
    this.#native = handle;
    this.#name = name;
    this.#readTimeout = readTimeout;
    this.#receives = new Lane(this.waits, (id, reason) => handle.stop(id, reason));
  }

  /**
   * Creates the mailslot `name` on this computer (`EEXIST` if it exists): `\\.\mailslot\name`, or
   * a bare name, to which that prefix is added. A name may have levels separated by backslashes
   * (`\\.\mailslot\app\jobs`).
   */
  static create(name: string, options?: MailslotCreateOptions): Mailslot {
    const create = native().createMailslot;
    const address = parseName(name, 'name');
    if (address.host !== '.') {
      throw invalidArgValue('name', name, 'must be a name on this computer (\\\\.\\mailslot\\...): a mailslot is created where it is read');
    }
    const opts = validateObject<MailslotCreateOptions>(options, 'options');
    const maxMessageSize = opts.maxMessageSize === undefined ? 0 : validateInteger(opts.maxMessageSize, 'options.maxMessageSize', 0, WRITE_MAX);
    const readTimeout =
      opts.readTimeout === undefined || opts.readTimeout === Infinity
        ? undefined
        : validateInteger(opts.readTimeout, 'options.readTimeout', 0, TIMEOUT_MAX);
    const handle = create(address.name, maxMessageSize, readTimeout === undefined ? -1 : readTimeout);
    return new Mailslot(CONSTRUCT, handle, address.name, readTimeout);
  }

  /**
   * Sends one message to the mailslot `name` (open, one WriteFile, close); it is written whole or
   * not at all when this returns. `ENOENT` if no such mailslot exists. `name` may also be another
   * computer's (`\\host\mailslot\name`) or a broadcast to the domain (`\\*\mailslot\name`), whose
   * messages may have at most {@link MAILSLOT_REMOTE_MESSAGE_MAX} bytes.
   */
  static send(name: string, data: MessageData): void {
    const send = native().sendMailslot;
    const address = parseName(name, 'name');
    const bytes = toBytes(data);
    checkSize(bytes, address);
    send(address.name, bytes);
  }

  /** Opens a writer for repeated sends to `name` (the names {@link Mailslot.send} takes). */
  static openWriter(name: string): MailslotWriter {
    const open = native().openMailslotWriter;
    const address = parseName(name, 'name');
    return new MailslotWriter(CONSTRUCT, open(address.name), address);
  }

  /** The slot's full name (`\\.\mailslot\...`). */
  get name(): string {
    return this.#name;
  }

  /** The wait of a receive without its own timeout, in milliseconds (`Infinity`: forever). */
  get readTimeout(): number {
    return this.#readTimeout ?? Infinity;
  }

  /** The next message's size, how many wait, and the slot's limits (GetMailslotInfo). */
  info(): MailslotInfo {
    this.checkOpen();
    const { nextSize, messageCount, maxMessageSize } = this.#native.info();
    return { nextSize: nextSize < 0 ? null : nextSize, messageCount, maxMessageSize, readTimeout: this.readTimeout };
  }

  /**
   * Receives the next message, whole. Waits up to `timeout` ms (default: the slot's
   * `readTimeout`) for one to arrive; ERR_IPC_TIMEOUT then, ERR_IPC_ABORTED when `signal`
   * aborts, ERR_IPC_CLOSED when the slot is closed first. Receives on one handle take messages in
   * the order they were called.
   */
  receive(options: WaitOptions = {}): Promise<Buffer> {
    try {
      const opts = validateObject<WaitOptions>(options, 'options');
      const waitOptions = validateWaitOptions(opts);
      const timeout = opts.timeout === undefined ? this.#readTimeout : waitOptions.timeout;
      const { signal } = waitOptions;
      this.checkOpen();
      if (signal?.aborted) return Promise.reject(abortedError('receive'));
      if (this.#receiving === 0) {
        const message = this.#native.tryReceive();
        if (message !== null) return Promise.resolve(message);
      }
      if (timeout === 0) return Promise.reject(timeoutError('receive'));
      const slot = this.#native;
      this.#receiving++;
      return this.#receives
        .run('receive', timeout, signal, (id, ms) => slot.receive(id, ms))
        .finally(() => {
          this.#receiving--;
        });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The next message if one is waiting now (and no receive of this handle is waiting), else `null`. Never waits. */
  tryReceive(): Buffer | null {
    this.checkOpen();
    if (this.#receiving > 0) return null;
    return this.#native.tryReceive();
  }

  /** Messages one after another, each waiting forever, until the slot is closed (`break` stops cleanly). */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.messages({ timeout: Infinity });
  }

  /** Async iteration with wait options for each receive: `for await (const m of slot.messages({ signal }))`. */
  messages(options: WaitOptions = {}): AsyncGenerator<Buffer, void, undefined> {
    // A receiver that is not a Mailslot fails here, at the call (a generator would fail only at
    // its first next()).
    void this.#native;
    return this.#messages(options);
  }

  async *#messages(options: WaitOptions): AsyncGenerator<Buffer, void, undefined> {
    while (!this.closed) {
      let message: Buffer;
      try {
        message = await this.receive(options);
      } catch (error) {
        if ((error as { code?: string }).code === ErrorCodes.CLOSED) return;
        throw error;
      }
      yield message;
    }
  }
}

/**
 * A writer of one mailslot, for repeated sends: the name is opened once. Several writers (in any
 * processes) may write to one slot at once; each message arrives whole.
 */
export class MailslotWriter {
  readonly #native: NativeMailslotWriter;
  readonly #address: MailslotAddress;
  #closed = false;

  /** @internal */
  constructor(token: symbol, handle: NativeMailslotWriter, address: MailslotAddress) {
    constructing(token);
    this.#native = handle;
    this.#address = address;
  }

  /** The full name written to. */
  get name(): string {
    return this.#address.name;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one message: written whole (or not at all, with an error) when this returns. */
  send(data: MessageData): void {
    const bytes = toBytes(data);
    checkSize(bytes, this.#address);
    if (this.#closed) throw closedError(`mailslot writer '${this.#address.name}'`);
    this.#native.send(bytes);
  }

  /** The same as {@link MailslotWriter.send}. */
  write(data: MessageData): void {
    this.send(data);
  }

  /** Closes the writer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// Windows named pipes (native/win/pipe.cc): a server that accepts connections, a client that
// connects, and a connection that is a Node Duplex stream, which in message mode also sends and
// receives whole messages. Every wait runs on the addon's waiter threads with overlapped I/O,
// never on libuv's threadpool.
import { Duplex } from 'node:stream';
import { binding, requireFeature, type NativePipeConnection, type NativePipeServer } from './binding';
import { closedError, CONSTRUCT, constructing, ErrorCodes, illegalConstructor, invalidArgValue, IpcError } from './errors';
import { WaitingHandle } from './handle';
import { toBytes, type MessageData } from './message-queue';
import { validateBoolean, validateInteger, validateObject, validateString } from './validate';
import { abortedError, Lane, validateWaitOptions, Waits, type WaitOptions } from './waiting';

/** How a pipe carries data: a byte stream, or whole messages. */
export type NamedPipeMode = 'byte' | 'message';
/** The server's view: `inbound` = the client writes and the server reads (PIPE_ACCESS_INBOUND). */
export type NamedPipeDirection = 'duplex' | 'inbound' | 'outbound';

export interface NamedPipeServerOptions {
  /** `'byte'` (default) or `'message'` (PIPE_TYPE_MESSAGE: every write is one message). */
  mode?: NamedPipeMode;
  /** Default `'duplex'`. */
  direction?: NamedPipeDirection;
  /** Most instances of this name at once, 1 to 255 (255, the default: no limit). */
  maxInstances?: number;
  /** Bytes the pipe buffers towards the server (a hint to the system). Default 65536. */
  inBufferSize?: number;
  /** Bytes the pipe buffers towards the client (a hint to the system). Default 65536. */
  outBufferSize?: number;
  /** PIPE_REJECT_REMOTE_CLIENTS: refuse clients on other machines. Default `true`. */
  rejectRemoteClients?: boolean;
  /** An SDDL string for the pipe's security descriptor, such as `'D:(A;;GA;;;WD)'`. Default: the system's. */
  securityDescriptor?: string;
}

export interface NamedPipeConnectOptions extends WaitOptions {
  /** `'byte'` (default) or `'message'` (reads whole messages; the server must be in message mode). */
  mode?: NamedPipeMode;
}

/** The longest pipe name Windows takes, in characters, prefix included. */
const NAME_MAX = 256;
const PREFIX = '\\\\.\\pipe\\';
// \\host\pipe\rest, "pipe" in any case (the object manager's names are case-insensitive).
const FULL_NAME = /^\\\\([^\\]+)\\pipe\\(.*)$/is;
/** Bytes a stream read asks for at least. */
const READ_SIZE = 64 * 1024;
const DEFAULT_BUFFER_SIZE = 65536;
const UNLIMITED_INSTANCES = 255;

/**
 * @internal The full name of a pipe: a bare name gets the `\\.\pipe\` prefix. A server's pipe is
 * always local (`\\.\pipe\` or `\\?\pipe\`); a client may name another machine's.
 */
export function pipeName(value: unknown, role: 'server' | 'client'): string {
  const name = validateString(value, 'name');
  if (name.length === 0) throw invalidArgValue('name', value, 'must not be empty');
  if (name.includes('\0')) throw invalidArgValue('name', value, 'must not contain NUL characters');
  let full = name;
  let part = name;
  if (name.startsWith('\\')) {
    const match = FULL_NAME.exec(name);
    if (match === null) throw invalidArgValue('name', value, 'must be a bare name or start with \\\\.\\pipe\\');
    const host = match[1]!;
    if (role === 'server' && host !== '.' && host !== '?') {
      throw invalidArgValue('name', value, 'must name a local pipe (\\\\.\\pipe\\...): a server cannot create a pipe on another machine');
    }
    part = match[2]!;
  } else {
    if (name.includes('\\')) throw invalidArgValue('name', value, 'must be a bare name (no backslash) or start with \\\\.\\pipe\\');
    full = PREFIX + name;
  }
  if (part.length === 0) throw invalidArgValue('name', value, 'must have a name after \\pipe\\');
  if (part.includes('\\')) throw invalidArgValue('name', value, 'must not contain a backslash after \\pipe\\');
  if (full.length > NAME_MAX) throw invalidArgValue('name', value, `must be at most ${NAME_MAX} characters with its prefix, not ${full.length}`);
  return full;
}

function modeOption(value: unknown): NamedPipeMode {
  if (value === undefined) return 'byte';
  if (value !== 'byte' && value !== 'message') throw invalidArgValue('options.mode', value, "must be 'byte' or 'message'");
  return value;
}

function directionOption(value: unknown): NamedPipeDirection {
  if (value === undefined) return 'duplex';
  if (value !== 'duplex' && value !== 'inbound' && value !== 'outbound') {
    throw invalidArgValue('options.direction', value, "must be 'duplex', 'inbound' or 'outbound'");
  }
  return value;
}

function bufferSize(value: unknown, name: string): number {
  return value === undefined ? DEFAULT_BUFFER_SIZE : validateInteger(value, name, 0, 2 ** 32 - 1);
}

function native(): { createServer: NonNullable<typeof binding.createPipeServer>; newClient: NonNullable<typeof binding.newPipeClient> } {
  requireFeature('namedPipe', 'Windows named pipes');
  return { createServer: binding.createPipeServer!, newClient: binding.newPipeClient! };
}

// The constructor's check runs before Duplex is built on what an outside caller passed.
function duplexOptions(token: unknown): { allowHalfOpen: boolean } {
  constructing(token);
  return { allowHalfOpen: false };
}

const isPeerGone = (error: unknown): boolean => (error as { code?: string }).code === 'EPIPE';

/**
 * One end of a connected named pipe: what `NamedPipeServer.accept()` and `NamedPipe.connect()`
 * resolve with. It is a Node `Duplex` stream of bytes; in message mode each write is one
 * message, and `send()` / `receive()` / `for await` keep message boundaries.
 *
 * A connection is read one way: as a stream (`'data'`, `read()`, `pipe()`), or with `receive()`
 * and its iterator. Once one way has been used, the other fails with `ERR_IPC_READ_CONFLICT`
 * (`receive()` rejects; a stream read destroys the stream with that error).
 *
 * The peer closing ends a stream (`'end'`) and makes `receive()` reject with `EPIPE` (the
 * iterator ends instead); a write or `send()` to a peer that has closed rejects with `EPIPE`.
 * A named pipe has no half-close: `end()` finishes writing, and the peer sees the end once this
 * side is closed (`close()` / `destroy()`, or automatically after the peer has closed too).
 */
export class NamedPipe extends Duplex {
  readonly #native: NativePipeConnection;
  readonly #name: string;
  readonly #mode: NamedPipeMode;
  readonly #waits = new Waits();
  readonly #writes: Lane;
  readonly #receives: Lane;
  #reading: 'none' | 'stream' | 'receive' = 'none';
  #released = false;

  private constructor(token: symbol, handle: NativePipeConnection, name: string, mode: NamedPipeMode) {
    super(duplexOptions(token));
    this.#native = handle;
    this.#name = name;
    this.#mode = mode;
    const stop = (id: number, reason: number) => {
      if (!this.#released) handle.stop(id, reason);
    };
    this.#writes = new Lane(this.#waits, stop);
    this.#receives = new Lane(this.#waits, stop);
  }

  /** @internal */
  static wrap(token: symbol, handle: NativePipeConnection, name: string, mode: NamedPipeMode): NamedPipe {
    if (token !== CONSTRUCT) throw illegalConstructor();
    return new NamedPipe(token, handle, name, mode);
  }

  /**
   * Connects to the pipe `name` (`\\.\pipe\name`, a bare name, or `\\host\pipe\name`). Resolves
   * once connected. While every instance of the pipe is busy, waits for one (WaitNamedPipe)
   * until `timeout` (`ERR_IPC_TIMEOUT`) or `signal` (`ERR_IPC_ABORTED`); a name with no server
   * rejects with `ENOENT` at once. Bad arguments, and a platform without named pipes
   * (`ERR_IPC_UNSUPPORTED_PLATFORM`), throw before anything is tried.
   */
  static connect(name: string, options: NamedPipeConnectOptions = {}): Promise<NamedPipe> {
    const { newClient } = native();
    const full = pipeName(name, 'client');
    const opts = validateObject<NamedPipeConnectOptions>(options, 'options');
    const mode = modeOption(opts.mode);
    const { timeout, signal } = validateWaitOptions(opts);
    if (signal?.aborted) return Promise.reject(abortedError('connect'));
    const handle = newClient(full, mode === 'message');
    const pipe = new NamedPipe(CONSTRUCT, handle, full, mode);
    return pipe.#waits
      .run(
        timeout,
        signal,
        (id, ms) => handle.connect(id, ms),
        (id, reason) => handle.stop(id, reason),
      )
      .then(
        () => pipe,
        (error: unknown) => {
          pipe.#release();
          pipe.destroy();
          throw error;
        },
      );
  }

  /** The pipe's full name (`\\.\pipe\...`). */
  get name(): string {
    return this.#name;
  }

  /** `'byte'` or `'message'`: how this end reads. */
  get mode(): NamedPipeMode {
    return this.#mode;
  }

  /** The process id of the pipe's client (GetNamedPipeClientProcessId). */
  get clientProcessId(): number {
    this.#checkOpen();
    return this.#native.clientProcessId;
  }

  /** The process id of the pipe's server (GetNamedPipeServerProcessId). */
  get serverProcessId(): number {
    this.#checkOpen();
    return this.#native.serverProcessId;
  }

  /**
   * Writes `data` whole and resolves once the pipe has taken every byte (in message mode, as
   * one message). Sends and stream writes go out in the order they were made. A send that fails,
   * times out, is aborted or is cut short by `close()` rejects (its error's `bytesWritten` says
   * how much went), and is never reported as sent.
   */
  send(data: MessageData, options: WaitOptions = {}): Promise<void> {
    try {
      const { timeout, signal } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
      // Copied now: the caller may reuse its buffer while the send waits its turn.
      const bytes = Uint8Array.prototype.slice.call(toBytes(data));
      this.#checkOpen();
      if (signal?.aborted) return Promise.reject(abortedError('send'));
      return this.#write(bytes, timeout, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Receives one whole message (message mode only: `ERR_IPC_PIPE_MODE` in byte mode). Rejects
   * with `EPIPE` once the peer has closed and every message it sent has been received. One
   * receive at a time reads; later ones wait their turn.
   */
  receive(options: WaitOptions = {}): Promise<Buffer> {
    try {
      const { timeout, signal } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
      this.#checkOpen();
      if (this.#mode !== 'message') {
        throw new IpcError(ErrorCodes.PIPE_MODE, 'receive() needs a pipe in message mode; a byte-mode pipe is read as a stream');
      }
      if (this.#reading === 'stream') throw this.#conflict('receive() on a pipe that is read as a stream');
      this.#reading = 'receive';
      if (signal?.aborted) return Promise.reject(abortedError('receive'));
      const handle = this.#native;
      return this.#receives.run('receive', timeout, signal, (id, ms) => {
        this.#checkOpen();
        return handle.receive(id, ms);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Whole messages until the peer closes (or this end is closed): `for await (const m of
   * pipe.messages({ signal }))`. In message mode `for await (const m of pipe)` is the same; in
   * byte mode that iterates the stream's chunks, as for any Readable.
   */
  messages(options: WaitOptions = {}): AsyncGenerator<Buffer, void, undefined> {
    // A receiver that is not a NamedPipe fails here, at the call (a generator would fail only at
    // its first next()).
    void this.#mode;
    return this.#messages(options);
  }

  async *#messages(options: WaitOptions): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      let message: Buffer;
      try {
        message = await this.receive(options);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (isPeerGone(error) || code === ErrorCodes.CLOSED) return;
        throw error;
      }
      yield message;
    }
  }

  override [Symbol.asyncIterator](): ReturnType<Duplex[typeof Symbol.asyncIterator]> {
    if (this.#mode === 'byte') return super[Symbol.asyncIterator]();
    const messages = this.messages();
    // As a Readable's iterator, disposable (`await using`).
    return Object.assign(messages, {
      [Symbol.asyncDispose]: async () => {
        await messages.return(undefined);
      },
    });
  }

  /** Lets pending reads, writes and a pending connect keep the process alive (the default). */
  ref(): this {
    this.#waits.setReferenced(true);
    if (!this.#released) this.#native.ref();
    return this;
  }

  /** Lets the process exit while reads, writes or a connect are pending on this pipe. */
  unref(): this {
    this.#waits.setReferenced(false);
    if (!this.#released) this.#native.unref();
    return this;
  }

  /** Closes this end (as `destroy()`): pending reads, writes and receives fail with `ERR_IPC_CLOSED`. Idempotent. */
  close(): void {
    this.destroy();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  override _read(size: number): void {
    if (this.#released) return;
    if (this.#reading === 'receive') {
      this.destroy(this.#conflict('a stream read on a pipe that is read with receive()'));
      return;
    }
    this.#reading = 'stream';
    const handle = this.#native;
    const id = this.#waits.nextId();
    const read: Promise<Buffer | null> =
      this.#mode === 'message'
        ? handle.receive(id, -1).catch((error: unknown) => {
            if (isPeerGone(error)) return null;
            throw error;
          })
        : handle.read(id, -1, Math.max(size, READ_SIZE));
    read.then(
      (chunk) => {
        if (!this.destroyed) this.push(chunk);
      },
      (error: unknown) => {
        // Closing stops the read: that is no error of the stream's.
        if ((error as { code?: string }).code !== ErrorCodes.CLOSED) this.destroy(error as Error);
      },
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (chunk.length === 0 && this.#mode === 'byte') {
      callback();
      return;
    }
    this.#write(chunk, undefined, undefined).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // No half-close on a named pipe: the handle stays open for reading until closed.
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#release();
    callback(error);
  }

  #write(bytes: Uint8Array, timeout: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    const handle = this.#native;
    return this.#writes.run('send', timeout, signal, (id, ms) => {
      this.#checkOpen();
      return handle.write(id, ms, bytes);
    });
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#native.close();
  }

  #checkOpen(): void {
    if (this.#released) throw closedError(`named pipe '${this.#name}'`);
  }

  #conflict(what: string): IpcError {
    return new IpcError(ErrorCodes.READ_CONFLICT, `${what}: a named pipe is read either as a stream or with receive(), not both`);
  }
}

/**
 * A named pipe server (CreateNamedPipeW): `create()` makes the pipe's first instance, so the
 * name exists (and clients can connect) from then on; `accept()` hands out one connection per
 * client. Clients that connect between accepts wait in the pipe, and are accepted at once.
 */
export class NamedPipeServer extends WaitingHandle {
  readonly #native: NativePipeServer;
  readonly #name: string;
  readonly #mode: NamedPipeMode;
  readonly #direction: NamedPipeDirection;

  private constructor(token: symbol, handle: NativePipeServer, name: string, mode: NamedPipeMode, direction: NamedPipeDirection) {
    super(constructing(token), handle, `named pipe server '${name}'`);
    this.#native = handle;
    this.#name = name;
    this.#mode = mode;
    this.#direction = direction;
  }

  /**
   * Creates the pipe `name` (`\\.\pipe\name` or a bare name). Its first instance is made with
   * FILE_FLAG_FIRST_PIPE_INSTANCE: on Windows a name some other server has is refused
   * (`EACCES`). A `securityDescriptor` that is not valid SDDL fails with the system's error
   * (`EINVAL`, `syscall` 'ConvertStringSecurityDescriptorToSecurityDescriptorW').
   */
  static create(name: string, options: NamedPipeServerOptions = {}): NamedPipeServer {
    const { createServer } = native();
    const full = pipeName(name, 'server');
    const opts = validateObject<NamedPipeServerOptions>(options, 'options');
    const mode = modeOption(opts.mode);
    const direction = directionOption(opts.direction);
    const maxInstances = opts.maxInstances === undefined ? UNLIMITED_INSTANCES : validateInteger(opts.maxInstances, 'options.maxInstances', 1, 255);
    const inBufferSize = bufferSize(opts.inBufferSize, 'options.inBufferSize');
    const outBufferSize = bufferSize(opts.outBufferSize, 'options.outBufferSize');
    const rejectRemote = validateBoolean(opts.rejectRemoteClients, 'options.rejectRemoteClients', true);
    let sddl: string | null = null;
    if (opts.securityDescriptor !== undefined) {
      sddl = validateString(opts.securityDescriptor, 'options.securityDescriptor');
      if (sddl.includes('\0')) throw invalidArgValue('options.securityDescriptor', sddl, 'must not contain NUL characters');
    }
    const handle = createServer(full, direction, mode === 'message', maxInstances, outBufferSize, inBufferSize, rejectRemote, sddl);
    return new NamedPipeServer(CONSTRUCT, handle, full, mode, direction);
  }

  /** The pipe's full name (`\\.\pipe\...`). */
  get name(): string {
    return this.#name;
  }

  get mode(): NamedPipeMode {
    return this.#mode;
  }

  get direction(): NamedPipeDirection {
    return this.#direction;
  }

  /**
   * The next client's connection. Rejects with `ERR_IPC_TIMEOUT` after `timeout` ms,
   * `ERR_IPC_ABORTED` when `signal` aborts, `ERR_IPC_CLOSED` when the server is closed. While
   * `maxInstances` connections are open, waits until one is closed.
   */
  accept(options: WaitOptions = {}): Promise<NamedPipe> {
    try {
      const { timeout, signal } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
      this.checkOpen();
      if (signal?.aborted) return Promise.reject(abortedError('accept'));
      const handle = this.#native;
      return this.waits
        .run(
          timeout,
          signal,
          (id, ms) => handle.accept(id, ms),
          (id, reason) => handle.stop(id, reason),
        )
        .then((connection) => NamedPipe.wrap(CONSTRUCT, connection, this.#name, this.#mode));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Closes the server: pending accepts fail with `ERR_IPC_CLOSED`. Connections already accepted stay open. */
  override close(): void {
    super.close();
  }
}

// Unix domain sockets that pass descriptors (SCM_RIGHTS) and name their peer (SO_PEERCRED).
// Node's net.Socket cannot carry descriptors: libuv reads its stream without a control buffer,
// and the kernel closes every descriptor that rides on bytes read that way. A UnixSocket reads
// only when asked, with recvmsg, so no descriptor is ever lost.
import { binding, requireFeature, type NativeUnixServer, type NativeUnixSocket } from './binding';
import { CONSTRUCT, constructing, invalidArgType, invalidArgValue, outOfRange } from './errors';
import { WaitingHandle } from './handle';
import { toBytes, type MessageData } from './message-queue';
import { validateInteger, validateMode, validateObject, validateString } from './validate';
import { abortedError, timeoutError, validateWaitOptions, type WaitOptions } from './waiting';

/** `'stream'` (SOCK_STREAM, what most C code uses) or `'seqpacket'` (message boundaries kept). */
export type UnixSocketType = 'stream' | 'seqpacket';

/** What one receive returns. */
export interface FdMessage {
  /** The bytes (on a stream socket, as many as one recvmsg returned, up to 64 KiB). */
  data: Buffer;
  /** Descriptors that came with them, now this process's (close-on-exec): close each with fs.closeSync. */
  fds: number[];
}

/** Who is at the other end: as the kernel recorded it when the connection (or pair) was made. */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** The most descriptors one message carries (SCM_MAX_FD). */
export const MAX_FDS_PER_MESSAGE = 253;

function native(): Required<Pick<typeof binding, 'unixConnect' | 'unixListen' | 'unixPair' | 'unixFromFd'>> {
  requireFeature('unixSocket', 'Unix sockets with descriptor passing');
  return { unixConnect: binding.unixConnect!, unixListen: binding.unixListen!, unixPair: binding.unixPair!, unixFromFd: binding.unixFromFd! };
}

function socketType(value: unknown): UnixSocketType {
  if (value === undefined) return 'stream';
  if (value !== 'stream' && value !== 'seqpacket') throw invalidArgValue('options.type', value, "must be 'stream' or 'seqpacket'");
  return value;
}

function socketPath(path: unknown): string {
  const p = validateString(path, 'path');
  if (p.length === 0 || p.includes('\0')) throw invalidArgValue('path', path, 'must be a non-empty path without NUL bytes');
  return p;
}

function validateFds(fds: unknown): number[] {
  if (!Array.isArray(fds)) throw invalidArgType('fds', 'an array of descriptors', fds);
  if (fds.length > MAX_FDS_PER_MESSAGE) throw outOfRange('fds.length', `at most ${MAX_FDS_PER_MESSAGE} (SCM_MAX_FD)`, fds.length);
  return fds.map((fd, i) => validateInteger(fd, `fds[${i}]`, 0, 2 ** 31 - 1));
}

/**
 * One end of a connected Unix domain socket. `send(data, fds)` sends bytes with descriptors
 * attached (the receiver gets duplicates; the sender keeps its own), `receive()` returns the
 * next bytes with any descriptors that came with them, or `null` at the end of the stream.
 */
export class UnixSocket extends WaitingHandle {
  readonly #native: NativeUnixSocket;

  /** @internal */
  constructor(token: symbol, handle: NativeUnixSocket) {
    super(constructing(token), handle, 'Unix socket');
    this.#native = handle;
  }

  /** Connects to a listening socket at `path`: `ENOENT`, `ECONNREFUSED` (nobody listens), `EAGAIN` (its backlog is full). */
  static connect(path: string, options?: { type?: UnixSocketType }): UnixSocket {
    const p = socketPath(path);
    const type = socketType(validateObject<{ type?: unknown }>(options, 'options').type);
    return new UnixSocket(CONSTRUCT, native().unixConnect(p, type));
  }

  /** Two sockets connected to each other (socketpair): give one to a child as its stdio descriptor. */
  static pair(options?: { type?: UnixSocketType }): [UnixSocket, UnixSocket] {
    const type = socketType(validateObject<{ type?: unknown }>(options, 'options').type);
    const [a, b] = native().unixPair(type);
    return [new UnixSocket(CONSTRUCT, a), new UnixSocket(CONSTRUCT, b)];
  }

  /**
   * Wraps a connected Unix socket this process was given (inherited as a stdio descriptor, say).
   * The handle owns a duplicate, made non-blocking (for every process sharing the description).
   * `ERR_IPC_INVALID_OBJECT` if `fd` is not a Unix socket.
   */
  static fromFd(fd: number): UnixSocket {
    return new UnixSocket(CONSTRUCT, native().unixFromFd(validateInteger(fd, 'fd', 0, 2 ** 31 - 1)));
  }

  /** The socket's descriptor. */
  get fd(): number {
    this.checkOpen();
    return this.#native.fd;
  }

  /** The peer's pid, uid and gid (SO_PEERCRED), for deciding whether to trust what it sends. */
  get peerCredentials(): PeerCredentials {
    this.checkOpen();
    return this.#native.peerCredentials();
  }

  /**
   * Sends `data` with `fds` attached, waiting (on the event loop) while the socket is full.
   * Descriptors need at least one byte to ride on: with empty `data`, one zero byte is sent.
   * The descriptors are duplicated at the call, so the caller may close its own at once.
   * Sends of one handle go out in call order.
   */
  send(data: MessageData = Buffer.alloc(0), fds: readonly number[] = [], options: WaitOptions = {}): Promise<void> {
    try {
      let bytes = toBytes(data);
      const list = validateFds(fds);
      const { timeout, signal } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
      this.checkOpen();
      if (signal?.aborted) return Promise.reject(abortedError('send'));
      if (bytes.length === 0 && list.length > 0) bytes = Buffer.alloc(1);
      const handle = this.#native;
      return this.waits.run(
        timeout,
        signal,
        (id, ms) => handle.send(id, ms, bytes, list),
        (id, reason) => handle.stop(id, reason),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The next bytes and descriptors if any are waiting; `null` at the end of the stream; `undefined` if nothing is waiting. */
  tryReceive(): FdMessage | null | undefined {
    this.checkOpen();
    return this.#native.tryReceive();
  }

  /**
   * Waits for the next bytes (with the descriptors that came with them); resolves `null` once
   * the peer has closed or shut down its end and everything it sent was received.
   */
  receive(options: WaitOptions = {}): Promise<FdMessage | null> {
    try {
      const { timeout, signal } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
      this.checkOpen();
      if (signal?.aborted) return Promise.reject(abortedError('receive'));
      if (timeout === 0) {
        const now = this.#native.tryReceive();
        return now === undefined ? Promise.reject(timeoutError('receive')) : Promise.resolve(now);
      }
      const handle = this.#native;
      return this.waits.run(
        timeout,
        signal,
        (id, ms) => handle.receive(id, ms),
        (id, reason) => handle.stop(id, reason),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** No more sends from this end (shutdown SHUT_WR): the peer's receives then reach the end. */
  end(): void {
    this.checkOpen();
    this.#native.shutdown();
  }
}

export interface UnixServerOptions {
  type?: UnixSocketType;
  /** Permission bits of the socket file: who may connect. Default `0o600`. */
  mode?: number;
  /** Connections the kernel queues before `accept()`. Default 128. */
  backlog?: number;
}

/** A listening Unix domain socket. `close()` removes its path (if the path is still this socket). */
export class UnixServer extends WaitingHandle {
  readonly #native: NativeUnixServer;
  readonly #path: string;

  private constructor(token: symbol, handle: NativeUnixServer, path: string) {
    super(constructing(token), handle, `Unix socket server '${path}'`);
    this.#native = handle;
    this.#path = path;
  }

  /** Binds and listens at `path`: `EADDRINUSE` if something is there already. */
  static listen(path: string, options?: UnixServerOptions): UnixServer {
    const p = socketPath(path);
    const opts = validateObject<UnixServerOptions>(options, 'options');
    const type = socketType(opts.type);
    const mode = validateMode(opts.mode, 'options.mode', 0o600);
    const backlog = opts.backlog === undefined ? 128 : validateInteger(opts.backlog, 'options.backlog', 1, 65535);
    return new UnixServer(CONSTRUCT, native().unixListen(p, type, backlog, mode), p);
  }

  get path(): string {
    return this.#path;
  }

  /** Waits for the next connection. */
  accept(options: WaitOptions = {}): Promise<UnixSocket> {
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
        .then((socket) => new UnixSocket(CONSTRUCT, socket));
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** Sends `fds` (with `data`, default one zero byte) over a {@link UnixSocket}. */
export function sendFds(socket: UnixSocket, fds: readonly number[], data?: MessageData, options?: WaitOptions): Promise<void> {
  if (!(socket instanceof UnixSocket)) return Promise.reject(invalidArgType('socket', 'a UnixSocket', socket));
  return socket.send(data ?? Buffer.alloc(1), fds, options);
}

/** Receives the next bytes and descriptors from a {@link UnixSocket}; `null` at the end of the stream. */
export function receiveFds(socket: UnixSocket, options?: WaitOptions): Promise<FdMessage | null> {
  if (!(socket instanceof UnixSocket)) return Promise.reject(invalidArgType('socket', 'a UnixSocket', socket));
  return socket.receive(options);
}

/** The pid, uid and gid of the process at the other end of `socket`. */
export function peerCredentials(socket: UnixSocket): PeerCredentials {
  if (!(socket instanceof UnixSocket)) throw invalidArgType('socket', 'a UnixSocket', socket);
  return socket.peerCredentials;
}

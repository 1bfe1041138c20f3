// FIFOs (named pipes on POSIX). The addon makes them and opens them without blocking
// (native/posix/fifo.cc); the descriptors go to libuv's pipe machinery through net.Socket, which
// reads and writes them on the event loop. Node's fs streams would not do: each read of a FIFO
// with no data parks a libuv threadpool thread, and four of them stop fs, dns and crypto for the
// whole process. The one wait libuv cannot do on the loop, a writer's wait for a reader, runs as a
// blocking open on one of the addon's waiter threads.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { binding, requireFeature, type NativeFifoOpener } from './binding';
import { ErrorCodes, IpcError, illegalConstructor, invalidArgType, invalidArgValue, type SystemError } from './errors';
import { validateBoolean, validateInteger, validateObject } from './validate';
import { abortedError, timeoutError, validateWaitOptions, Waits, type WaitOptions } from './waiting';

/** Options of {@link mkfifo}. */
export interface MkfifoOptions {
  /** Permission bits, applied exactly (the umask does not narrow them). Default: `0o600`. */
  mode?: number;
}

/** Options of {@link Fifo.openReader}. */
export interface FifoReaderOptions {
  /**
   * Hold a write end open inside the reader, so that the stream does not end when the last writer
   * closes: writers may come and go, and the stream ends only when you `destroy()` it. Default:
   * `false` (the stream ends, with `'end'`, once every writer has closed).
   */
  keepOpen?: boolean;
  /** The stream's `highWaterMark` in bytes (Node's default when not given). */
  highWaterMark?: number;
}

/** Options of {@link Fifo.openWriter}. */
export interface FifoWriterOptions extends WaitOptions {
  /**
   * Wait for a reader instead of failing with `ERR_IPC_NO_READER` when no process has the FIFO
   * open for reading. `timeout` and `signal` apply to that wait only. Default: `false`.
   */
  wait?: boolean;
  /**
   * Whether a pending wait for a reader keeps the process alive, like a referenced timer or
   * socket. Default: `true`; with `false`, the process may exit while the wait is pending.
   */
  ref?: boolean;
  /** The stream's `highWaterMark` in bytes (Node's default when not given). */
  highWaterMark?: number;
}

function native(what: string): {
  makeFifo: NonNullable<typeof binding.makeFifo>;
  openFifo: NonNullable<typeof binding.openFifo>;
  newFifoOpener: NonNullable<typeof binding.newFifoOpener>;
} {
  requireFeature('fifo', what);
  const { makeFifo, openFifo, newFifoOpener } = binding;
  return { makeFifo: makeFifo!, openFifo: openFifo!, newFifoOpener: newFifoOpener! };
}

function validatePath(value: unknown): string {
  if (typeof value !== 'string') throw invalidArgType('path', 'of type string', value);
  if (value.length === 0) throw invalidArgValue('path', value, 'must be a non-empty string');
  if (value.includes('\u0000')) throw invalidArgValue('path', value, 'must be a string without null bytes');
  return value;
}

function validateHighWaterMark(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  return validateInteger(value, name, 1, 2 ** 31 - 1);
}

/** ENXIO from a non-blocking open for writing: no process has the FIFO open for reading. */
function noReaderError(cause: SystemError, path: string): IpcError & { errno: number; syscall: string; path: string } {
  const error = new IpcError(
    ErrorCodes.NO_READER,
    `No process has the FIFO '${path}' open for reading (ENXIO); pass { wait: true } to wait for a reader`,
  ) as IpcError & { errno: number; syscall: string; path: string };
  error.errno = cause.errno;
  error.syscall = cause.syscall;
  error.path = path;
  error.cause = cause;
  return error;
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Closing a descriptor of our own that is open cannot fail in a way anyone could act on.
  }
}

/**
 * Makes the socket own `fd`: libuv closes it when the stream is destroyed. If the socket cannot
 * be made, the descriptor is closed here, so no failure leaks it.
 */
function socketFor(fd: number, readable: boolean, highWaterMark: number | undefined): net.Socket {
  try {
    return new net.Socket({ fd, readable, writable: !readable, ...(highWaterMark === undefined ? {} : { highWaterMark }) });
  } catch (error) {
    closeQuietly(fd);
    throw error;
  }
}

/**
 * Creates a FIFO (named pipe) at `path` with exactly `options.mode` (default `0o600`); unlike
 * mkfifo(3), the umask does not narrow the mode. Fails with the OS's error (`EEXIST` when the
 * name exists, `ENOENT` when its directory does not; `syscall` `'mkfifo'`, `path` set). Remove it
 * with `fs.unlinkSync(path)`. POSIX only: elsewhere it throws `ERR_IPC_UNSUPPORTED_PLATFORM`.
 */
export function mkfifo(path: string, options: MkfifoOptions = {}): void {
  const checked = validatePath(path);
  const opts = validateObject<MkfifoOptions>(options, 'options');
  const mode = opts.mode === undefined ? 0o600 : validateInteger(opts.mode, 'options.mode', 0, 0o7777);
  native('mkfifo').makeFifo(checked, mode);
}

/**
 * Opens FIFOs as event-loop streams: reads and writes never block the event loop or occupy a
 * libuv threadpool thread. The streams are `net.Socket`s over the FIFO's descriptor (opened
 * non-blocking and close-on-exec); each owns its descriptor, and `destroy()` (or the stream
 * ending) closes it. A path that is not a FIFO is refused with `ERR_IPC_INVALID_OBJECT` before it
 * is opened, and a missing one with `ENOENT`.
 */
export class Fifo {
  /** @internal */
  private constructor() {
    throw illegalConstructor();
  }

  /**
   * Opens the FIFO at `path` for reading, at once (opening a FIFO for reading never waits), and
   * returns a readable stream. It waits for data, and for a first writer if none has opened the
   * FIFO yet; it ends (`'end'`) once every writer has closed it after one has been there, unless
   * `keepOpen` is set.
   */
  static openReader(path: string, options: FifoReaderOptions = {}): net.Socket {
    const checked = validatePath(path);
    const opts = validateObject<FifoReaderOptions>(options, 'options');
    const keepOpen = validateBoolean(opts.keepOpen, 'options.keepOpen', false);
    const highWaterMark = validateHighWaterMark(opts.highWaterMark, 'options.highWaterMark');
    const { openFifo } = native('Fifo');
    const fd = openFifo(checked, false);
    let keeper = -1;
    if (keepOpen) {
      try {
        // We read it now, so this open for writing finds a reader and succeeds at once.
        keeper = openFifo(checked, true);
      } catch (error) {
        closeQuietly(fd);
        throw error;
      }
    }
    const socket = socketFor(fd, true, highWaterMark);
    if (keeper >= 0) {
      const held = keeper;
      socket.once('close', () => closeQuietly(held));
    }
    return socket;
  }

  /**
   * Opens the FIFO at `path` for writing and resolves with a writable stream. With no reader it
   * rejects with `ERR_IPC_NO_READER` (carrying `errno`/`syscall` of the OS's `ENXIO`), unless
   * `wait` is set: then it waits for a reader until `timeout` (`ERR_IPC_TIMEOUT`) or `signal`
   * (`ERR_IPC_ABORTED`); the wait keeps the process alive unless `ref` is `false`. A reader that
   * goes away later makes the next write fail with an `'error'` event of code `EPIPE` (Node
   * ignores SIGPIPE, so the process is not killed). Bad arguments throw at once.
   */
  static openWriter(path: string, options: FifoWriterOptions = {}): Promise<net.Socket> {
    const checked = validatePath(path);
    const opts = validateObject<FifoWriterOptions>(options, 'options');
    const wait = validateBoolean(opts.wait, 'options.wait', false);
    const ref = validateBoolean(opts.ref, 'options.ref', true);
    const highWaterMark = validateHighWaterMark(opts.highWaterMark, 'options.highWaterMark');
    const { timeout, signal } = validateWaitOptions(opts);
    const { openFifo, newFifoOpener } = native('Fifo');
    if (signal?.aborted) return Promise.reject(abortedError('wait for a reader'));
    let fd: number;
    try {
      fd = openFifo(checked, true);
    } catch (error) {
      if ((error as SystemError).code !== 'ENXIO') return Promise.reject(error);
      if (!wait) return Promise.reject(noReaderError(error as SystemError, checked));
      if (timeout === 0) return Promise.reject(timeoutError('wait for a reader'));
      let opener: NativeFifoOpener;
      try {
        opener = newFifoOpener(checked);
      } catch (openerError) {
        return Promise.reject(openerError);
      }
      if (!ref) opener.unref();
      return new Waits()
        .run(
          timeout,
          signal,
          (id, ms) => opener.openWriter(id, ms),
          (id, reason) => opener.stop(id, reason),
        )
        .finally(() => opener.close())
        .then((opened) => socketFor(opened, false, highWaterMark));
    }
    try {
      return Promise.resolve(socketFor(fd, false, highWaterMark));
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

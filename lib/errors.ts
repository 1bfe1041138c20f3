import { getSystemErrorMap } from 'node:util';

/** Codes of the errors ipckit itself raises (OS failures carry the OS's code, such as `'ENOENT'`). */
export const ErrorCodes = {
  /** The handle was closed; nothing may be done through it any more. */
  CLOSED: 'ERR_IPC_CLOSED',
  /** A wait ran past its `timeout`. */
  TIMEOUT: 'ERR_IPC_TIMEOUT',
  /** A wait was cancelled through its `AbortSignal`. */
  ABORTED: 'ERR_IPC_ABORTED',
  /** A message is larger than the queue (or the receive's `maxSize`) allows. */
  MESSAGE_TOO_LARGE: 'ERR_IPC_MESSAGE_TOO_LARGE',
  /** This thread already holds (or is acquiring) the mutex through this handle. */
  MUTEX_HELD: 'ERR_IPC_MUTEX_HELD',
  /** Unlocking (or waiting on a condition with) a mutex this thread does not hold. */
  MUTEX_NOT_OWNER: 'ERR_IPC_MUTEX_NOT_OWNER',
  /** A holder died and the mutex was unlocked without markConsistent(): it can never be locked again. */
  MUTEX_NOT_RECOVERABLE: 'ERR_IPC_MUTEX_NOT_RECOVERABLE',
  /**
   * A mutex's bytes were overwritten while this thread held it (or its kind no longer says it is
   * ipckit's robust mutex): reported instead of following pointers found in shared memory.
   */
  MUTEX_CORRUPT: 'ERR_IPC_MUTEX_CORRUPT',
  /** What is at the name is not an object of the expected kind (a 0-byte `sem.NAME` file, say). */
  INVALID_OBJECT: 'ERR_IPC_INVALID_OBJECT',
  /** An object would overlap another one placed in the same mapping. */
  OBJECT_OVERLAP: 'ERR_IPC_OBJECT_OVERLAP',
  /** The other end of a channel closed it, or its process exited (`error.peer`: `'closed'` or `'gone'`). */
  PEER_CLOSED: 'ERR_IPC_PEER_CLOSED',
  /** A channel's role (producer or consumer) is held by a live handle or process (`error.pid`). */
  CHANNEL_BUSY: 'ERR_IPC_CHANNEL_BUSY',
  /** A record in a channel's ring breaks the layout: reported rather than read. */
  CHANNEL_CORRUPT: 'ERR_IPC_CHANNEL_CORRUPT',
  /** A producer call on a handle that cannot be the producer now (or a consumer call), or a call that would overtake queued waits. */
  CHANNEL_ROLE: 'ERR_IPC_CHANNEL_ROLE',
  /** The object is of a layout version this ipckit does not read. */
  UNSUPPORTED_VERSION: 'ERR_IPC_UNSUPPORTED_VERSION',
  /** `receive()` on a named pipe opened in byte mode (it has no messages to keep whole). */
  PIPE_MODE: 'ERR_IPC_PIPE_MODE',
  /** A named pipe read one way (as a stream, or with `receive()`) was read the other way too. */
  READ_CONFLICT: 'ERR_IPC_READ_CONFLICT',
  /** A received message carried more descriptors than a receive holds: the kernel dropped some, and the rest were closed. */
  FDS_TRUNCATED: 'ERR_IPC_FDS_TRUNCATED',
  /** A System V segment attached read-only was asked for a Buffer or view (its pages fault on writes; `read()` copies). */
  READ_ONLY: 'ERR_IPC_READ_ONLY',
  /** The primitive does not exist on this operating system. */
  UNSUPPORTED_PLATFORM: 'ERR_IPC_UNSUPPORTED_PLATFORM',
  /** The signal already has a handler in this process (Node's, a `process.on()` listener's, another ipckit receiver's). */
  SIGNAL_IN_USE: 'ERR_IPC_SIGNAL_IN_USE',
  /** A FIFO was opened for writing while no process has it open for reading (the OS's `ENXIO`). */
  NO_READER: 'ERR_IPC_NO_READER',
  /** No IPC object matches what `stat()` or `remove()` (or the `ipckit` command) was asked for, or it went away since it was listed. */
  NOT_FOUND: 'ERR_IPC_NOT_FOUND',
} as const;

/**
 * The limit that refused a call, as `error.limit` carries it: `name` says where the limit is set
 * (a /proc/sys file such as `'/proc/sys/kernel/msgmni'`, a resource limit such as
 * `'RLIMIT_MSGQUEUE'`, a queue's own `'msg_qbytes'` or `'mq_msgsize'`, or for the
 * fields of /proc/sys/kernel/sem the kernel's names `'SEMMSL'`, `'SEMMNS'`, `'SEMOPM'`,
 * `'SEMMNI'`), `value` its value when the call failed (`Infinity` when unlimited).
 */
export interface ErrorLimit {
  name: string;
  value: number;
}

/** An error raised by ipckit itself; `code` is one of {@link ErrorCodes}. */
export class IpcError extends Error {
  readonly code: string;
  /** Set when a limit refused the call (a message larger than msgmax, say). */
  declare limit?: ErrorLimit;
  constructor(code: string, message: string) {
    if (typeof code !== 'string') throw invalidArgType('code', 'of type string', code);
    // Error would convert anything else with String(), which throws for some values (a detached typed array).
    if (typeof message !== 'string') throw invalidArgType('message', 'of type string', message);
    super(message);
    this.name = 'IpcError';
    this.code = code;
  }
}

/**
 * An operating-system failure, shaped like Node's own system errors:
 * `ENOENT: no such file or directory, shm_open '/frames'`.
 */
export interface SystemError extends Error {
  /** The error's name, such as `'ENOENT'`. */
  code: string;
  /** libuv's (negative) error number, as Node's own system errors carry it. */
  errno: number;
  /** The call that failed, such as `'shm_open'`. */
  syscall: string;
  /** The name or path of the object the call was about. */
  path?: string;
  /** Set when a limit, not a fault, refused the call (`ENOSPC` from msgget: msgmni, say). */
  limit?: ErrorLimit;
  /** Windows only: the raw Win32 error (`GetLastError()`) that `code` was translated from, such as 231. */
  osErrno?: number;
  /** Windows only: that Win32 error's name, such as `'ERROR_PIPE_BUSY'`. */
  osCode?: string;
}

/**
 * @internal Builds a system error from libuv's negative errno, as Node's `fs` would. For the codes libuv has
 * no name for (System V's EIDRM and ENOMSG, say), the OS's own name and description are used.
 * When a limit refused the call, the native layer passes it with a hint that ends the message.
 */
export function systemError(
  uvErrno: number,
  syscall: string,
  path?: string,
  osName?: string,
  osDescription?: string,
  hint?: string,
  limit?: ErrorLimit,
  osErrno?: number,
): SystemError {
  const known = getSystemErrorMap().get(uvErrno);
  const [code, description] =
    known ??
    (osName
      ? [osName, osDescription ? osDescription.charAt(0).toLowerCase() + osDescription.slice(1) : 'unknown error']
      : ['UNKNOWN', 'unknown error']);
  const where = path === undefined ? syscall : `${syscall} '${path}'`;
  const error = new Error(`${code}: ${description}, ${where}${hint === undefined ? '' : ` (${hint})`}`) as SystemError;
  error.code = code;
  error.errno = uvErrno;
  error.syscall = syscall;
  if (path !== undefined) error.path = path;
  if (limit !== undefined) error.limit = limit;
  // On Windows the code is a translation (ERROR_PIPE_BUSY is EBUSY): the Win32 error stays too.
  if (process.platform === 'win32' && osErrno !== undefined) {
    error.osErrno = osErrno;
    if (osName) error.osCode = osName;
  }
  Error.captureStackTrace?.(error, systemError);
  return error;
}

type ErrorWithCode<E extends Error> = E & { code: string };

function coded<E extends Error>(error: E, code: string): ErrorWithCode<E> {
  return Object.assign(error, { code });
}

/**
 * @internal Passed by ipckit's own factories to its classes' constructors: a class constructed
 * from outside (`new SharedMemory({})`) would own nothing and fail in every method.
 */
export const CONSTRUCT: unique symbol = Symbol('ipckit construct');

/**
 * @internal A subclass passes `super(constructing(token), ...)`: the check runs before the other
 * arguments are evaluated, which may already fail on what an outside caller passed.
 */
export function constructing(token: unknown): symbol {
  if (token !== CONSTRUCT) throw illegalConstructor();
  return token;
}

/** @internal As Node's own classes do: `new` on a class made only by its factories. */
export function illegalConstructor(use = 'the static create()/open() functions'): ErrorWithCode<TypeError> {
  return coded(new TypeError(`Illegal constructor: use ${use}`), 'ERR_ILLEGAL_CONSTRUCTOR');
}

/** @internal */
export function closedError(what: string): IpcError {
  return new IpcError(ErrorCodes.CLOSED, `The ${what} is closed`);
}

/** @internal */
export function unsupportedPlatform(what: string): IpcError {
  return new IpcError(ErrorCodes.UNSUPPORTED_PLATFORM, `${what} is not available on ${process.platform}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  const text = typeof value === 'string' ? JSON.stringify(value.length > 28 ? `${value.slice(0, 25)}...` : value) : String(value);
  return `type ${typeof value} (${text})`;
}

// String(value) for a message, never throwing: String() of a detached typed array (or of an
// object whose toString throws) would.
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return String(value);
  } catch {
    return describe(value);
  }
}

/** @internal */
export function invalidArgType(name: string, expected: string, actual: unknown): ErrorWithCode<TypeError> {
  return coded(new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`), 'ERR_INVALID_ARG_TYPE');
}

/** @internal */
export function invalidArgValue(name: string, value: unknown, reason: string): ErrorWithCode<TypeError> {
  return coded(new TypeError(`The argument '${name}' ${reason}. Received ${shown(value)}`), 'ERR_INVALID_ARG_VALUE');
}

/** @internal */
export function outOfRange(name: string, range: string, value: unknown): ErrorWithCode<RangeError> {
  return coded(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${typeof value === 'string' ? value : shown(value)}`),
    'ERR_OUT_OF_RANGE',
  );
}

/** @internal For lib/'s own checks against a limit the addon read: `error.limit`, as native errors carry it. */
export function withLimit<E extends Error>(error: E, limit: ErrorLimit): E & { limit: ErrorLimit } {
  return Object.assign(error, { limit });
}

/** @internal Used by the native layer: kind 0 Error, 1 TypeError, 2 RangeError; `limit` when one refused the call. */
export function libraryError(kind: number, code: string, message: string, limit?: ErrorLimit): Error {
  const error = kind === 1 ? coded(new TypeError(message), code) : kind === 2 ? coded(new RangeError(message), code) : new IpcError(code, message);
  return limit === undefined ? error : withLimit(error, limit);
}

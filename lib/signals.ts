// Signals that carry a value (POSIX): sigqueue(2) to send, and a receiver fed by an SA_SIGINFO
// handler through a self-pipe that the event loop watches (native/posix/signals.cc). Signal
// disposition is process-wide, so a receiver takes its signals for the whole process and refuses
// any that already has a handler, Node's own included.
import { constants as osConstants } from 'node:os';
import { binding, requireFeature, type NativeSignalReceiver } from './binding';
import { closedError, CONSTRUCT, illegalConstructor, invalidArgType, invalidArgValue, outOfRange } from './errors';
import { abortedError, timeoutError, validateWaitOptions, type WaitOptions } from './waiting';
import { validateObject } from './validate';

/** How a received signal was sent, from its `si_code`. */
export type SignalSource = 'sigqueue' | 'kill' | 'tkill' | 'kernel' | 'other';

/** One received signal. */
export interface ReceivedSignal {
  /** Its name: `'SIGUSR1'`, `'SIGRTMIN'`, `'SIGRTMIN+3'`, `'SIGRTMAX-2'`. */
  signal: string;
  /** Its number in this process. */
  signo: number;
  /** The value sigqueue() sent (`sival_int`); 0 for a signal sent by kill(). */
  value: number;
  /** The sender's process id (0 for most signals the kernel raises). */
  pid: number;
  /** The sender's real user id. */
  uid: number;
  /** How it was sent: `'sigqueue'` (SI_QUEUE), `'kill'` (SI_USER), `'tkill'` (SI_TKILL), `'kernel'` (si_code > 0), else `'other'`. */
  source: SignalSource;
  /** The raw `si_code`. */
  code: number;
}

/** Options of {@link receiveSignals}. */
export interface ReceiveSignalsOptions {
  /**
   * How many received signals are kept while nobody takes them (default 65536); more are counted
   * in {@link SignalReceiver.dropped} and discarded.
   */
  bufferSize?: number;
  /** Whether the open receiver keeps the process alive (default true, like a listening `net.Server`). */
  ref?: boolean;
}

// si_code values of <asm-generic/siginfo.h>.
const SI_USER = 0;
const SI_QUEUE = -1;
const SI_TKILL = -6;

function sourceOf(code: number): SignalSource {
  if (code === SI_QUEUE) return 'sigqueue';
  if (code === SI_USER) return 'kill';
  if (code === SI_TKILL) return 'tkill';
  return code > 0 ? 'kernel' : 'other';
}

function numbers(): { rtmin: number; rtmax: number; cancel: number } {
  requireFeature('signals', 'Signals with a payload');
  return binding.signalNumbers as { rtmin: number; rtmax: number; cancel: number };
}

// Node's table lists aliases (SIGIOT for SIGABRT, SIGPOLL for SIGIO); the first name wins, and
// Node lists the usual one first.
const STANDARD_NAMES = new Map<number, string>();
for (const [name, number] of Object.entries(osConstants.signals)) {
  if (!STANDARD_NAMES.has(number)) STANDARD_NAMES.set(number, name);
}

/** The name of a signal number: a standard name, or SIGRTMIN+n / SIGRTMAX-n for the nearer end. */
export function signalName(signo: number): string {
  const { rtmin, rtmax } = numbers();
  if (signo >= rtmin && signo <= rtmax) {
    if (signo - rtmin <= rtmax - signo) return signo === rtmin ? 'SIGRTMIN' : `SIGRTMIN+${signo - rtmin}`;
    return signo === rtmax ? 'SIGRTMAX' : `SIGRTMAX-${rtmax - signo}`;
  }
  return STANDARD_NAMES.get(signo) ?? `SIG${signo}`;
}

/** @internal Resolves a name or number to a signal number, or throws ERR_INVALID_ARG_VALUE / ERR_OUT_OF_RANGE. */
export function signalNumber(value: unknown, argName: string): number {
  const { rtmin, rtmax } = numbers();
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > rtmax) throw outOfRange(argName, `an integer from 1 to ${rtmax}`, value);
    return value;
  }
  if (typeof value !== 'string') throw invalidArgType(argName, 'of type string or number', value);
  const realtime = /^SIGRT(MIN|MAX)(?:([+-])(\d{1,3}))?$/.exec(value);
  if (realtime !== null) {
    const [, end, sign, digits] = realtime;
    const offset = digits === undefined ? 0 : Number(digits);
    let signo: number | undefined;
    if (end === 'MIN' && (sign === undefined || sign === '+')) signo = rtmin + offset;
    if (end === 'MAX' && (sign === undefined || sign === '-')) signo = rtmax - offset;
    if (signo === undefined || signo < rtmin || signo > rtmax) {
      throw invalidArgValue(argName, value, `must be SIGRTMIN+n or SIGRTMAX-n within SIGRTMIN..SIGRTMAX (${rtmin}..${rtmax})`);
    }
    return signo;
  }
  const signo = (osConstants.signals as Record<string, number | undefined>)[value];
  if (signo === undefined || !Object.prototype.hasOwnProperty.call(osConstants.signals, value)) {
    throw invalidArgValue(argName, value, 'must be a signal name such as SIGUSR2 or SIGRTMIN+1');
  }
  return signo;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Sends `signal` with `value` to process `pid` (sigqueue(2)). `value` is an integer in int32
 * range, delivered as `si_value.sival_int`, which is what C receivers read; pointer-sized values
 * (`sival_ptr`) are not offered, since a pointer means nothing in another process.
 * Throws `ESRCH` (no such process), `EPERM` (not allowed to signal it), `EAGAIN` (the receiving
 * user's RLIMIT_SIGPENDING is reached; `error.limit` names it), and for signal 0 only checks that
 * `pid` exists and may be signalled.
 */
export function sendSignal(pid: number, signal: string | number, value: number = 0): void {
  requireFeature('signals', 'sendSignal');
  if (typeof pid !== 'number') throw invalidArgType('pid', 'of type number', pid);
  if (!Number.isInteger(pid) || pid < 1 || pid > INT32_MAX) throw outOfRange('pid', `an integer from 1 to ${INT32_MAX}`, pid);
  const signo = signal === 0 ? 0 : signalNumber(signal, 'signal');
  if (typeof value !== 'number') throw invalidArgType('value', 'of type number', value);
  if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    throw outOfRange('value', `an integer from ${INT32_MIN} to ${INT32_MAX}`, value);
  }
  (binding.sendSignal as NonNullable<typeof binding.sendSignal>)(pid, signo, value);
}

// Signals a receiver may never take: the ones that cannot be caught, the synchronous faults (a
// handler that returns would re-run the faulting instruction), SIGPIPE and SIGCHLD (Node and libuv
// rely on their dispositions), and the waiter pool's cancel signal.
function refusedReason(signo: number): string | undefined {
  const s = osConstants.signals;
  if (signo === s.SIGKILL || signo === s.SIGSTOP) return 'cannot be caught';
  if ([s.SIGSEGV, s.SIGBUS, s.SIGFPE, s.SIGILL, s.SIGTRAP, s.SIGABRT, s.SIGSYS].includes(signo))
    return 'is a synchronous fault signal and cannot be received';
  if (signo === s.SIGPIPE || signo === s.SIGCHLD) return 'is managed by Node and libuv and cannot be received';
  if (signo === numbers().cancel) return "is ipckit's own waiter-cancel signal and cannot be received";
  if (signo < numbers().rtmin && !STANDARD_NAMES.has(signo)) return 'is reserved by the C library';
  return undefined;
}

interface PendingTake {
  resolve(value: ReceivedSignal | null): void;
  reject(error: Error): void;
  cleanup(): void;
}

/**
 * Receives signals of the kinds it was opened for, on the event loop. Iterate it with
 * `for await`, or take one at a time with {@link SignalReceiver.receive}. `close()` gives the
 * signals back (their previous dispositions return) and ends the iteration.
 */
export class SignalReceiver implements AsyncIterable<ReceivedSignal> {
  #native: NativeSignalReceiver | undefined;
  readonly #signals: readonly string[];
  readonly #bufferSize: number;
  readonly #buffer: ReceivedSignal[] = [];
  readonly #takers: PendingTake[] = [];
  #dropped = 0;
  #error: Error | undefined;

  /**
   * @internal Made by {@link receiveSignals} only: the constructor is reachable from any receiver
   * (`receiver.constructor`), and what it is given is not validated here.
   */
  constructor(token: symbol, signals: number[], bufferSize: number, ref: boolean) {
    if (token !== CONSTRUCT) throw illegalConstructor('receiveSignals()');
    this.#signals = Object.freeze(signals.map(signalName));
    this.#bufferSize = bufferSize;
    this.#native = (binding.openSignalReceiver as NonNullable<typeof binding.openSignalReceiver>)(signals, (records, dropped, error) =>
      this.#deliver(records, dropped, error),
    );
    if (!ref) this.#native.unref();
  }

  /** The names of the signals this receiver takes. */
  get signals(): readonly string[] {
    return this.#signals;
  }

  /**
   * Signals that arrived but were discarded: the self-pipe was full (the event loop was blocked
   * through a flood) or the buffer of `bufferSize` unread signals was.
   */
  get dropped(): number {
    return this.#dropped;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#native === undefined;
  }

  #deliver(records: Int32Array, dropped: number, error: Error | null): void {
    this.#dropped += dropped;
    if (error !== null) this.#error = error;
    for (let i = 0; i + 5 <= records.length; i += 5) {
      const signo = records[i];
      const code = records[i + 1];
      const received: ReceivedSignal = {
        signal: signalName(signo),
        signo,
        value: records[i + 4],
        pid: records[i + 2],
        uid: records[i + 3] >>> 0,
        source: sourceOf(code),
        code,
      };
      const taker = this.#takers.shift();
      if (taker !== undefined) {
        taker.cleanup();
        taker.resolve(received);
      } else if (this.#buffer.length < this.#bufferSize) {
        this.#buffer.push(received);
      } else {
        this.#dropped++;
      }
    }
    if (this.#error !== undefined) {
      for (const taker of this.#takers.splice(0)) {
        taker.cleanup();
        taker.reject(this.#error);
      }
    }
  }

  /**
   * The next signal: at once if one is buffered, else when one arrives. Rejects with
   * ERR_IPC_TIMEOUT, ERR_IPC_ABORTED, or ERR_IPC_CLOSED when the receiver is (or gets) closed.
   */
  receive(options: WaitOptions = {}): Promise<ReceivedSignal> {
    validateObject(options, 'options');
    const { timeout, signal } = validateWaitOptions(options);
    return this.#take(timeout, signal).then((value) => {
      if (value === null) throw closedError('signal receiver');
      return value;
    });
  }

  // Resolves null when closed (the iterator's end), else the next signal.
  #take(timeout: number | undefined, signal: AbortSignal | undefined): Promise<ReceivedSignal | null> {
    const buffered = this.#buffer.shift();
    if (buffered !== undefined) return Promise.resolve(buffered);
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#native === undefined) return Promise.resolve(null);
    if (signal?.aborted === true) return Promise.reject(abortedError('signal receive'));
    if (timeout === 0) return Promise.reject(timeoutError('signal receive'));
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        remove();
        reject(abortedError('signal receive'));
      };
      const taker: PendingTake = {
        resolve,
        reject,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const remove = (): void => {
        taker.cleanup();
        const index = this.#takers.indexOf(taker);
        if (index >= 0) this.#takers.splice(index, 1);
      };
      if (timeout !== undefined) {
        // The timer only bounds this wait: the receiver's own ref() decides whether it keeps the process alive.
        timer = setTimeout(() => {
          remove();
          reject(timeoutError('signal receive'));
        }, timeout);
        timer.unref();
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#takers.push(taker);
    });
  }

  /** Keeps the process alive while the receiver is open (the default). */
  ref(): this {
    this.#native?.ref();
    return this;
  }

  /** Lets the process exit although the receiver is open. */
  unref(): this {
    this.#native?.unref();
    return this;
  }

  /**
   * Gives the signals back (each gets the disposition it had before, unless something replaced
   * ipckit's handler since) and ends iteration: pending `next()` calls resolve done, pending
   * `receive()` calls reject with ERR_IPC_CLOSED. Signals already buffered can still be read.
   * Idempotent.
   */
  close(): void {
    const native = this.#native;
    if (native === undefined) return;
    this.#native = undefined;
    native.close();
    for (const taker of this.#takers.splice(0)) {
      taker.cleanup();
      taker.resolve(null);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<ReceivedSignal> {
    return {
      next: async (): Promise<IteratorResult<ReceivedSignal>> => {
        const value = await this.#take(undefined, undefined);
        return value === null ? { done: true, value: undefined } : { done: false, value };
      },
      return: async (): Promise<IteratorResult<ReceivedSignal>> => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }
}

/**
 * Starts receiving `signals` (a name such as `'SIGUSR2'` or `'SIGRTMIN+1'`, a number, or a list
 * of them) in this process. Each must have no handler yet: a signal Node or a `process.on()`
 * listener handles, or another open receiver takes, is refused with ERR_IPC_SIGNAL_IN_USE; one
 * receiver per signal per process. Signals that must not be taken (SIGKILL, SIGSTOP, the fault
 * signals, SIGPIPE, SIGCHLD, ipckit's cancel signal) are refused with ERR_INVALID_ARG_VALUE.
 */
export function receiveSignals(signals: string | number | readonly (string | number)[], options: ReceiveSignalsOptions = {}): SignalReceiver {
  requireFeature('signals', 'receiveSignals');
  const list = Array.isArray(signals) ? (signals as readonly unknown[]) : [signals];
  if (list.length === 0) throw invalidArgValue('signals', signals, 'must name at least one signal');
  const numbersList: number[] = [];
  list.forEach((entry, index) => {
    const argName = Array.isArray(signals) ? `signals[${index}]` : 'signals';
    const signo = signalNumber(entry, argName);
    const reason = refusedReason(signo);
    if (reason !== undefined) throw invalidArgValue(argName, entry, reason);
    if (!numbersList.includes(signo)) numbersList.push(signo);
  });
  validateObject(options, 'options');
  const { bufferSize = 65536, ref = true } = options;
  if (typeof bufferSize !== 'number') throw invalidArgType('options.bufferSize', 'of type number', bufferSize);
  if (!Number.isInteger(bufferSize) || bufferSize < 1 || bufferSize > 2 ** 24)
    throw outOfRange('options.bufferSize', 'an integer from 1 to 16777216', bufferSize);
  if (typeof ref !== 'boolean') throw invalidArgType('options.ref', 'of type boolean', ref);
  return new SignalReceiver(CONSTRUCT, numbersList, bufferSize, ref);
}

/** @internal For tests: a signal's disposition now ('default', 'ignore', 'ipckit' or 'other'). */
export function signalDisposition(signal: string | number): 'default' | 'ignore' | 'ipckit' | 'other' {
  requireFeature('signals', 'signalDisposition');
  return (binding.signalDisposition as NonNullable<typeof binding.signalDisposition>)(signalNumber(signal, 'signal'));
}

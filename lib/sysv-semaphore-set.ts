import { WaitingHandle } from './handle';
import { binding, requireFeature, LimitNames, QueueFlags, SemOpFlags, type NativeSysVSemaphoreSet } from './binding';
import { CONSTRUCT, constructing, invalidArgType, invalidArgValue, outOfRange, withLimit } from './errors';
import { validateKey } from './sysv-key';
import { validateBoolean, validateInteger, validateMode, validateObject } from './validate';
import { abortedError, timeoutError, validateWaitOptions, type WaitOptions } from './waiting';

/** One operation of {@link SysVSemaphoreSet.op}: what semop(2) calls a `struct sembuf`. */
export interface SemaphoreOp {
  /** Which semaphore of the set (`sem_num`), from 0 to `count - 1`. */
  index: number;
  /**
   * What to do (`sem_op`), from -32768 to 32767: a positive number adds to the value; a negative
   * one waits until the value is at least its absolute value, then subtracts it; `0` waits
   * until the value is zero.
   */
  delta: number;
  /**
   * SEM_UNDO: the kernel reverses this operation's effect when the process ends, however it
   * ends, so a lock held by a process that dies is given back. Default `false`.
   */
  undo?: boolean;
  /** IPC_NOWAIT: if this operation would wait, the whole call fails with `EAGAIN` instead. Default `false`. */
  noWait?: boolean;
}

export interface SysVSemaphoreSetOptions {
  /** How many semaphores the set holds, from 1 to the kernel's SEMMSL (`/proc/sys/kernel/sem`, first field). */
  count: number;
  /** Permission bits. Default `0o600`. */
  mode?: number;
}

/** Who waits on one semaphore, and who last changed it. */
export interface SysVSemaphoreWaiters {
  index: number;
  /** Processes waiting for the value to grow (GETNCNT). */
  forIncrease: number;
  /** Processes waiting for the value to be zero (GETZCNT). */
  forZero: number;
  /** The process that last operated on this semaphore (GETPID), or 0. */
  lastPid: number;
}

export interface SysVSemaphoreSetStats {
  /** Semaphores in the set (`sem_nsems`). */
  count: number;
  /** Permission bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Creator's user and group. */
  cuid: number;
  cgid: number;
  /** When semop last changed the set, or `null` if it never did (`sem_otime`). */
  lastOpTime: Date | null;
  /** When the set was created or last changed by semctl (`sem_ctime`). */
  changeTime: Date | null;
  /** One entry per semaphore. */
  waiters: SysVSemaphoreWaiters[];
}

/** The largest value a semaphore may hold (SEMVMX, from the addon). */
const SEMVMX = binding.constants.sysvSemaphore?.valueMax ?? 0;

function limits(): { semmsl: number; semmns: number; semopm: number; semmni: number } {
  requireFeature('sysvSemaphoreSet', 'System V semaphore sets');
  return binding.sysvSemLimits!();
}

function native(): NonNullable<typeof binding.openSysVSemaphoreSet> {
  requireFeature('sysvSemaphoreSet', 'System V semaphore sets');
  return binding.openSysVSemaphoreSet!;
}

function createArgs(options: unknown): [count: number, mode: number] {
  const opts = validateObject<SysVSemaphoreSetOptions>(options, 'options');
  const count = validateInteger(opts.count, 'options.count', 1);
  const semmsl = { name: LimitNames.semmsl, value: limits().semmsl };
  if (count > semmsl.value)
    throw withLimit(
      outOfRange('options.count', `>= 1 and <= ${semmsl.value} (${semmsl.name}, the first field of /proc/sys/kernel/sem)`, count),
      semmsl,
    );
  return [count, validateMode(opts.mode, 'options.mode', 0o600)];
}

const toDate = (seconds: number) => (seconds === 0 ? null : new Date(seconds * 1000));

/**
 * A System V semaphore set (semget, semop, semtimedop, semctl): an array of counters that several
 * operations change atomically. An operation that can complete at once does, on the calling
 * thread; one that must wait does so on the addon's own waiter threads, never on libuv's
 * threadpool, and never blocks the event loop.
 *
 * A handle names its set by id, and outlives it: once the set is removed (by any process), calls
 * fail with the kernel's `EINVAL`. The kernel hands a removed set's id out again after its ids
 * wrap; a handle then finds a set of another size, key or creator there and refuses it with
 * `EIDRM` rather than act on a stranger's set (one identical in all three cannot be told apart).
 */
export class SysVSemaphoreSet extends WaitingHandle {
  readonly #native: NativeSysVSemaphoreSet;
  readonly #key: number;

  private constructor(token: symbol, handle: NativeSysVSemaphoreSet, key: number) {
    super(constructing(token), handle, `System V semaphore set ${handle.name}`);
    this.#native = handle;
    this.#key = key;
  }

  /**
   * Creates a set of `count` semaphores for `key`, exclusively: `EEXIST` if one exists. Linux
   * starts every semaphore at 0.
   */
  static create(key: number, options: SysVSemaphoreSetOptions): SysVSemaphoreSet {
    const k = validateKey(key);
    const [count, mode] = createArgs(options);
    return new SysVSemaphoreSet(CONSTRUCT, native()(k, QueueFlags.CREATE | QueueFlags.EXCLUSIVE, mode, count), k);
  }

  /**
   * Opens the existing set for `key`: `ENOENT` if there is none, `EACCES` unless this user may
   * both read and alter it.
   */
  static open(key: number): SysVSemaphoreSet {
    const k = validateKey(key);
    return new SysVSemaphoreSet(CONSTRUCT, native()(k, 0, 0, 0), k);
  }

  /**
   * Opens the set for `key`, creating it with `count` semaphores if there is none (`created`
   * tells which). An existing set with fewer than `count` semaphores fails with `EINVAL`.
   */
  static openOrCreate(key: number, options: SysVSemaphoreSetOptions): SysVSemaphoreSet {
    const k = validateKey(key);
    const [count, mode] = createArgs(options);
    return new SysVSemaphoreSet(CONSTRUCT, native()(k, QueueFlags.CREATE, mode, count), k);
  }

  /** Creates a new set with no key (IPC_PRIVATE): share its `id` with the processes that need it. */
  static createPrivate(options: SysVSemaphoreSetOptions): SysVSemaphoreSet {
    const [count, mode] = createArgs(options);
    return new SysVSemaphoreSet(CONSTRUCT, native()(0, QueueFlags.CREATE | QueueFlags.PRIVATE, mode, count), 0);
  }

  /** The key (0 for a private set). */
  get key(): number {
    return this.#key;
  }

  /** The kernel's set id, as `ipcs -s` shows it. */
  get id(): number {
    return this.#native.id;
  }

  /** How many semaphores the set holds. */
  get count(): number {
    return this.#native.count;
  }

  /** Whether this handle created the set. */
  get created(): boolean {
    return this.#native.created;
  }

  #index(value: unknown, name: string): number {
    return validateInteger(value, name, 0, this.#native.count - 1);
  }

  // Validates the operations and lays them out as the addon takes them: (index, delta, flags)
  // triples.
  #encode(ops: unknown): { triples: Int32Array; anyNoWait: boolean } {
    if (!Array.isArray(ops)) throw invalidArgType('ops', 'an array of operations', ops);
    if (ops.length === 0) throw invalidArgValue('ops', '0 operations', 'must hold at least one operation');
    const semopm = { name: LimitNames.semopm, value: this.#native.semopm };
    if (ops.length > semopm.value) {
      throw withLimit(
        invalidArgValue(
          'ops',
          `${ops.length} operations`,
          `must hold at most ${semopm.value} operations (${semopm.name}, the third field of /proc/sys/kernel/sem)`,
        ),
        semopm,
      );
    }
    const triples = new Int32Array(ops.length * 3);
    let anyNoWait = false;
    for (let i = 0; i < ops.length; i++) {
      const op: unknown = ops[i];
      if (op === null || typeof op !== 'object') throw invalidArgType(`ops[${i}]`, 'of type object', op);
      const { index, delta, undo, noWait } = op as SemaphoreOp;
      triples[3 * i] = this.#index(index, `ops[${i}].index`);
      triples[3 * i + 1] = validateInteger(delta, `ops[${i}].delta`, -32768, 32767);
      const wantsNoWait = validateBoolean(noWait, `ops[${i}].noWait`, false);
      triples[3 * i + 2] = (validateBoolean(undo, `ops[${i}].undo`, false) ? SemOpFlags.UNDO : 0) | (wantsNoWait ? SemOpFlags.NO_WAIT : 0);
      anyNoWait ||= wantsNoWait;
    }
    return { triples, anyNoWait };
  }

  /**
   * Applies `ops` atomically, in one semop(2): all of them or none. If they cannot all complete
   * now, waits (off the event loop) until they can, unless an operation asked for `noWait`:
   * then it rejects with `EAGAIN`. `timeout` rejects with `ERR_IPC_TIMEOUT`, `signal` with
   * `ERR_IPC_ABORTED`, `close()` with `ERR_IPC_CLOSED`, and removal of the set with `EIDRM`;
   * none of those applies anything.
   */
  op(ops: SemaphoreOp[], options: WaitOptions = {}): Promise<void> {
    try {
      const { triples, anyNoWait } = this.#encode(ops);
      const { timeout, signal } = validateWaitOptions(validateObject<WaitOptions>(options, 'options'));
      this.checkOpen();
      if (signal?.aborted) return Promise.reject(abortedError('operation'));
      const handle = this.#native;
      if (handle.tryOp(triples, anyNoWait)) return Promise.resolve();
      if (timeout === 0) return Promise.reject(timeoutError('operation'));
      return this.waits.run(
        timeout,
        signal,
        (id, ms) => handle.op(id, ms, triples),
        (id, reason) => handle.stop(id, reason),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Applies `ops` atomically if they can all complete now (IPC_NOWAIT); returns whether they did. Never waits. */
  tryOp(ops: SemaphoreOp[]): boolean {
    const { triples } = this.#encode(ops);
    this.checkOpen();
    return this.#native.tryOp(triples, false);
  }

  /**
   * Like {@link op}, but waits on the calling thread (semtimedop), blocking it: for scripts and
   * worker threads. `timeout` throws `ERR_IPC_TIMEOUT` with nothing applied. A worker that
   * waits here cannot be terminated until the wait ends, so give it a timeout.
   */
  opSync(ops: SemaphoreOp[], options: { timeout?: number } = {}): void {
    const { triples } = this.#encode(ops);
    const opts = validateObject<WaitOptions>(options, 'options');
    if (opts.signal !== undefined)
      throw invalidArgValue('options.signal', 'an AbortSignal', 'is not supported by opSync(), which blocks its thread; use op()');
    const { timeout } = validateWaitOptions({ timeout: opts.timeout });
    this.checkOpen();
    this.#native.opSync(triples, timeout === undefined ? -1 : timeout);
  }

  /** GETVAL: the value of semaphore `index`. */
  get(index: number): number {
    const i = this.#index(index, 'index');
    this.checkOpen();
    return this.#native.get(i);
  }

  /**
   * SETVAL: sets semaphore `index` to `value` (0 to 32767), waking whoever that lets through. It
   * also clears every process's undo record for this semaphore.
   */
  set(index: number, value: number): void {
    const i = this.#index(index, 'index');
    const v = validateInteger(value, 'value', 0, SEMVMX);
    this.checkOpen();
    this.#native.set(i, v);
  }

  /** GETALL: every semaphore's value, by index (as many as the kernel says the set holds at the call). */
  getAll(): number[] {
    this.checkOpen();
    return this.#native.getAll();
  }

  /** SETALL: sets every semaphore at once; `values` must have one value (0 to 32767) per semaphore. */
  setAll(values: number[]): void {
    if (!Array.isArray(values)) throw invalidArgType('values', 'an array of numbers', values);
    const count = this.#native.count;
    if (values.length !== count) throw invalidArgValue('values', `${values.length} values`, `must hold one value per semaphore (${count})`);
    const array = new Uint16Array(count);
    for (let i = 0; i < count; i++) array[i] = validateInteger(values[i], `values[${i}]`, 0, SEMVMX);
    this.checkOpen();
    this.#native.setAll(array);
  }

  /** IPC_STAT and the per-semaphore counters: size, permissions, times, and who waits on what. */
  stat(): SysVSemaphoreSetStats {
    this.checkOpen();
    const s = this.#native.stat();
    return { ...s, lastOpTime: toDate(s.lastOpTime), changeTime: toDate(s.changeTime) };
  }

  /** IPC_RMID: removes the set from the system; operations waiting on it in every process fail with `EIDRM`. */
  remove(): void {
    this.checkOpen();
    this.#native.remove();
  }
}

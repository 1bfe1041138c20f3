// System V shared memory (shmget, shmat, shmctl, shmdt): the segments Python's sysv_ipc and C
// programs built on shmat use. The same Mapping as SharedMemory: one Buffer over the whole
// segment, views, and a close() that detaches every view before shmdt.
import { constants as bufferConstants } from 'node:buffer';
import { binding, QueueFlags, requireFeature, type NativeSysVShm, type NativeSysVShmStat } from './binding';
import { closedError, CONSTRUCT, constructing } from './errors';
import { Mapping, type MappingStats } from './mapping';
import { validateKey } from './sysv-key';
import { validateBoolean, validateInteger, validateMode, validateObject } from './validate';

export interface SysVSharedMemoryCreateOptions {
  /** Size in bytes: at least 1, at most `buffer.constants.MAX_LENGTH` and the kernel's shmmax. */
  size: number;
  /** Permission bits (System V applies them exactly: there is no umask). Default `0o600`. */
  mode?: number;
}

export interface SysVSharedMemoryOpenOptions {
  /**
   * Attach read-only (SHM_RDONLY): only read permission is needed. Such an attachment's pages
   * fault on any write, so it has no `buffer` or `view()` (they throw `ERR_IPC_READ_ONLY`: a
   * stray write through a Buffer would kill the process); `read(offset, length)` copies bytes out.
   * Default `false`.
   */
  readOnly?: boolean;
}

export interface SysVSharedMemoryOpenOrCreateOptions extends SysVSharedMemoryCreateOptions, SysVSharedMemoryOpenOptions {}

/** What the kernel records of a segment (IPC_STAT). */
export interface SysVSharedMemoryStats extends MappingStats {
  /** Creator's user and group. */
  cuid: number;
  cgid: number;
  /** Attachments in all processes (`shm_nattch`), this handle's included. */
  attachCount: number;
  /** The process that created the segment. */
  creatorPid: number;
  /** The process that last attached or detached it. */
  lastPid: number;
  /** When it was last attached, detached, changed; `null` for never. */
  attachTime: Date | null;
  detachTime: Date | null;
  changeTime: Date | null;
  /** Whether `remove()` was asked for: the segment goes when its last attachment does. */
  removed: boolean;
  /** The key (0 for a private segment). */
  key: number;
}

function native(): Required<
  Pick<
    typeof binding,
    'openSysVSharedMemory' | 'attachSysVSharedMemory' | 'statSysVSharedMemory' | 'removeSysVSharedMemory' | 'removeSysVSharedMemoryKey'
  >
> {
  requireFeature('sysvSharedMemory', 'System V shared memory');
  return {
    openSysVSharedMemory: binding.openSysVSharedMemory!,
    attachSysVSharedMemory: binding.attachSysVSharedMemory!,
    statSysVSharedMemory: binding.statSysVSharedMemory!,
    removeSysVSharedMemory: binding.removeSysVSharedMemory!,
    removeSysVSharedMemoryKey: binding.removeSysVSharedMemoryKey!,
  };
}

const toDate = (seconds: number): Date | null => (seconds === 0 ? null : new Date(seconds * 1000));

function createOptions(options: unknown): { size: number; mode: number; readOnly: boolean } {
  const opts = validateObject<SysVSharedMemoryOpenOrCreateOptions>(options, 'options');
  const size = validateInteger(opts.size, 'options.size', 1, bufferConstants.MAX_LENGTH);
  const mode = validateMode(opts.mode, 'options.mode', 0o600);
  const readOnly = validateBoolean(opts.readOnly, 'options.readOnly', false);
  return { size, mode, readOnly };
}

function readOnlyOption(options: unknown): boolean {
  const opts = validateObject<SysVSharedMemoryOpenOptions>(options, 'options');
  return validateBoolean(opts.readOnly, 'options.readOnly', false);
}

/**
 * A System V shared memory segment, attached to this process. Like {@link SharedMemory} it has
 * no header: the bytes are the segment's, and its size is the kernel's (`shm_segsz`), so
 * sysv_ipc and C peers see exactly what Node sees.
 */
export class SysVSharedMemory extends Mapping {
  readonly #id: number;
  readonly #key: number;
  readonly #name: string;

  private constructor(token: symbol, attached: NativeSysVShm, name: string) {
    super(constructing(token), attached.mapping, `System V shared memory ${name}`);
    this.#id = attached.id;
    this.#key = attached.key;
    this.#name = name;
  }

  static #wrap(attached: NativeSysVShm, name: string): SysVSharedMemory {
    return new SysVSharedMemory(CONSTRUCT, attached, name);
  }

  /** Creates a segment for `key`, exclusively: `EEXIST` if one exists. */
  static create(key: number, options: SysVSharedMemoryCreateOptions): SysVSharedMemory {
    const k = validateKey(key);
    const { size, mode } = createOptions(options);
    return SysVSharedMemory.#wrap(native().openSysVSharedMemory(k, QueueFlags.CREATE | QueueFlags.EXCLUSIVE, mode, size, false), keyName(k));
  }

  /** Attaches the existing segment for `key` at the size it has: `ENOENT` if there is none. */
  static open(key: number, options?: SysVSharedMemoryOpenOptions): SysVSharedMemory {
    const k = validateKey(key);
    const readOnly = readOnlyOption(options);
    return SysVSharedMemory.#wrap(native().openSysVSharedMemory(k, 0, 0, 0, readOnly), keyName(k));
  }

  /**
   * Attaches the segment for `key` if it exists (at the size it has), else creates it with
   * `size`; `created` tells which.
   */
  static openOrCreate(key: number, options: SysVSharedMemoryOpenOrCreateOptions): SysVSharedMemory {
    const k = validateKey(key);
    const { size, mode, readOnly } = createOptions(options);
    return SysVSharedMemory.#wrap(native().openSysVSharedMemory(k, QueueFlags.CREATE, mode, size, readOnly), keyName(k));
  }

  /** Creates a new segment with no key (IPC_PRIVATE): share its `id` with the processes that need it. */
  static createPrivate(options: SysVSharedMemoryCreateOptions): SysVSharedMemory {
    const { size, mode } = createOptions(options);
    return SysVSharedMemory.#wrap(native().openSysVSharedMemory(0, QueueFlags.CREATE | QueueFlags.PRIVATE, mode, size, false), 'IPC_PRIVATE');
  }

  /** Attaches a segment by its id (`shmat(id)`), as a private segment is shared: `EINVAL` if no segment has it. */
  static attach(id: number, options?: SysVSharedMemoryOpenOptions): SysVSharedMemory {
    const shmid = validateInteger(id, 'id', 0, 2 ** 31 - 1);
    const readOnly = readOnlyOption(options);
    return SysVSharedMemory.#wrap(native().attachSysVSharedMemory(shmid, readOnly), `shmid ${shmid}`);
  }

  /** IPC_RMID of the segment for `key`, without attaching it. The segment goes when its last attachment does. */
  static remove(key: number): void {
    native().removeSysVSharedMemoryKey(validateKey(key));
  }

  /** The segment's id (`shmid`), as `ipcs -m` shows it and `shmat` takes it. */
  get id(): number {
    return this.#id;
  }

  /** The key (0 for a private segment). */
  get key(): number {
    return this.#key;
  }

  /** Whether this handle created the segment. */
  get created(): boolean {
    return this.native.created;
  }

  /**
   * A copy of `length` bytes from `offset` (default: everything after it). The way to read a
   * read-only attachment, which has no Buffer.
   */
  read(offset = 0, length?: number): Buffer {
    const size = this.size;
    const start = validateInteger(offset, 'offset', 0, size);
    const count = length === undefined ? size - start : validateInteger(length, 'length', 0, size - start);
    return this.native.read(start, count);
  }

  /** What the kernel records of the segment (IPC_STAT): size, mode, owner, attachments, pids and times. */
  override stat(): SysVSharedMemoryStats {
    // eslint-disable-next-line @typescript-eslint/no-unused-expressions -- read for its check: throws once closed
    this.native;
    const s: NativeSysVShmStat = native().statSysVSharedMemory(this.#id, this.#name);
    return {
      size: s.size,
      mode: s.mode,
      uid: s.uid,
      gid: s.gid,
      cuid: s.cuid,
      cgid: s.cgid,
      attachCount: s.attachCount,
      creatorPid: s.creatorPid,
      lastPid: s.lastPid,
      attachTime: toDate(s.attachTime),
      detachTime: toDate(s.detachTime),
      changeTime: toDate(s.changeTime),
      removed: s.removed,
      key: s.key,
    };
  }

  /**
   * IPC_RMID: no process can attach the segment any more (its key is free at once), and it is
   * destroyed when the last attachment, in any process, detaches. This handle stays usable until
   * `close()`. Refused with `ERR_IPC_CLOSED` after `close()`: the id may name another segment by then.
   */
  remove(): void {
    if (this.closed) throw closedError(`System V shared memory ${this.#name}`);
    native().removeSysVSharedMemory(this.#id, this.#name);
  }
}

/** The key as ipcs shows it: what errors carry as their path. */
function keyName(key: number): string {
  return `0x${(key >>> 0).toString(16).padStart(8, '0')}`;
}

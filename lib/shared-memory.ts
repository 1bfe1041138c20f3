import { constants as bufferConstants } from 'node:buffer';
import { binding, requireFeature, ShmFlags, type NativeMapping } from './binding';
import { CONSTRUCT, constructing, invalidArgType, invalidArgValue, IpcError, ErrorCodes } from './errors';
import { Mapping } from './mapping';
import { posixName } from './names';
import { validateBoolean, validateInteger, validateMode, validateObject, validateString } from './validate';

/** A seal of an anonymous object (fcntl F_ADD_SEALS): what no process can do to it any more. */
export type SealName = 'shrink' | 'grow' | 'write' | 'seal';

export interface SharedMemoryAnonymousOptions {
  /** Size in bytes: at least 1, at most `buffer.constants.MAX_LENGTH`. */
  size: number;
  /**
   * Seals to apply once the object is sized, so that no process holding the descriptor can undo
   * them: `true` for `['shrink', 'grow', 'seal']` (its size is fixed for ever, and a peer cannot
   * truncate it under a mapping, which would make touching the lost pages SIGBUS), or a list of
   * `'shrink'`, `'grow'`, `'seal'` (no further seals). `'write'` cannot be applied to an object
   * mapped writable (the kernel refuses it), so it is refused here. Default: none.
   */
  seal?: boolean | readonly SealName[];
  /** The name /proc shows (`memfd:name`); not a name anyone can open. Default `'ipckit'`. */
  name?: string;
  /** Reserve the pages now (posix_fallocate). Default `true`, as for `create`. */
  reserve?: boolean;
}

function anonymousFeature(): void {
  requireFeature('anonymousSharedMemory', 'Anonymous shared memory');
}

function sealMask(seal: unknown): number {
  const bits = binding.sealBits!;
  if (seal === undefined || seal === false) return 0;
  if (seal === true) return bits.shrink | bits.grow | bits.seal;
  if (!Array.isArray(seal)) throw invalidArgType('options.seal', 'a boolean or an array of seal names', seal);
  let mask = 0;
  for (const name of seal as unknown[]) {
    if (name === 'write') {
      throw invalidArgValue('options.seal', seal, "cannot hold 'write': the kernel refuses a write seal on an object mapped writable");
    }
    if (name !== 'shrink' && name !== 'grow' && name !== 'seal')
      throw invalidArgValue('options.seal', seal, "holds only 'shrink', 'grow' and 'seal'");
    mask |= bits[name];
  }
  return mask;
}

export interface SharedMemoryCreateOptions {
  /** Size in bytes: at least 1, at most `buffer.constants.MAX_LENGTH` (4 GiB on Node 20). */
  size: number;
  /** Permission bits, applied exactly (not filtered by the umask). Default `0o600`. */
  mode?: number;
  /**
   * Reserve the pages at create time (`posix_fallocate`), so an object larger than `/dev/shm` can
   * hold fails now with `ENOSPC`. Default `true`. With `false` the object is sparse (`ftruncate`):
   * creating it always succeeds, and if `/dev/shm` fills up later, touching a page that was never
   * written kills the process with SIGBUS. Opt out only for deliberately sparse objects.
   */
  reserve?: boolean;
}

export interface SharedMemoryOpenOptions {
  /**
   * Open without write access. The mapping is private copy-on-write: it shows what other
   * processes write, and a write through this handle changes only this process's copy of that
   * page (which then stops following the shared object). Default `false`.
   */
  readOnly?: boolean;
}

function nativeShm(): Required<Pick<typeof binding, 'openSharedMemory' | 'unlinkSharedMemory'>> {
  requireFeature('sharedMemory', 'Shared memory');
  return { openSharedMemory: binding.openSharedMemory!, unlinkSharedMemory: binding.unlinkSharedMemory! };
}

function createFlags(options: SharedMemoryCreateOptions | undefined): { size: number; mode: number; flags: number } {
  const opts = validateObject<SharedMemoryCreateOptions>(options, 'options');
  const size = validateInteger(opts.size, 'options.size', 1, bufferConstants.MAX_LENGTH);
  const mode = validateMode(opts.mode, 'options.mode', 0o600);
  const reserve = validateBoolean(opts.reserve, 'options.reserve', true);
  return { size, mode, flags: ShmFlags.CREATE | (reserve ? 0 : ShmFlags.NO_RESERVE) };
}

/**
 * A POSIX shared memory object (`shm_open` + `mmap`). The bytes are exactly the object's bytes:
 * there is no header, and the size is the OS's, so C and Python peers see what Node sees.
 *
 * On Windows it is a named file mapping backed by the paging file, `Local\name` for `'/name'`
 * (names may not contain a backslash). The name lasts while any process has a handle on it, so
 * `unlink()` only checks the name; an opened mapping's size is the section's, in whole pages
 * (the creator's handle keeps the size it asked for); `mode` and `reserve` are not applied (every
 * page is committed at create time), and `stat()` reports `mode`, `uid` and `gid` as 0.
 */
export class SharedMemory extends Mapping {
  readonly #name: string;

  readonly #anonymous: boolean;

  private constructor(token: symbol, native: NativeMapping, name: string, anonymous = false) {
    super(constructing(token), native, `shared memory object '${name}'`);
    this.#name = name;
    this.#anonymous = anonymous;
  }

  /**
   * Anonymous shared memory (Linux memfd_create): an object with no name anyone can open, shared
   * only by handing its descriptor (`shm.fd`) to another process, by inheritance or with
   * {@link sendFds}; the other process maps it with {@link SharedMemory.fromFd}. It goes when
   * the last descriptor and mapping of it go.
   */
  static createAnonymous(options: SharedMemoryAnonymousOptions): SharedMemory {
    anonymousFeature();
    const opts = validateObject<SharedMemoryAnonymousOptions>(options, 'options');
    const size = validateInteger(opts.size, 'options.size', 1, bufferConstants.MAX_LENGTH);
    const seals = sealMask(opts.seal);
    const name = opts.name === undefined ? 'ipckit' : validateString(opts.name, 'options.name');
    if (name.includes('\0') || name.includes('/') || Buffer.byteLength(name) > 249) {
      throw invalidArgValue('options.name', opts.name, 'must be at most 249 bytes, without NUL or slash');
    }
    const reserve = validateBoolean(opts.reserve, 'options.reserve', true);
    const native = binding.createAnonymousSharedMemory!(name, size, seals, reserve);
    return new SharedMemory(CONSTRUCT, native, `memfd:${name}`, true);
  }

  /**
   * Maps the object behind a descriptor this process was given (a memfd or a POSIX shared
   * memory object, received with {@link receiveFds} or inherited). The handle keeps a duplicate:
   * close `fd` yourself. Its size is the object's (fstat); `readOnly` maps it copy-on-write, and
   * is required for a descriptor opened read-only or an object sealed against writes.
   */
  static fromFd(fd: number, options?: SharedMemoryOpenOptions): SharedMemory {
    anonymousFeature();
    const descriptor = validateInteger(fd, 'fd', 0, 2 ** 31 - 1);
    const opts = validateObject<SharedMemoryOpenOptions>(options, 'options');
    const readOnly = validateBoolean(opts.readOnly, 'options.readOnly', false);
    const native = binding.openSharedMemoryFd!(descriptor, readOnly);
    return new SharedMemory(CONSTRUCT, native, `fd ${descriptor}`, true);
  }

  /** The object's descriptor, to pass to another process. */
  get fd(): number {
    return this.native.fd;
  }

  /** Whether the object has no name (made by `createAnonymous`, or mapped by `fromFd`). */
  get anonymous(): boolean {
    return this.#anonymous;
  }

  /** The seals on the object (F_GET_SEALS): `[]` for none; an object that cannot be sealed reports `['seal']`. */
  get seals(): SealName[] {
    anonymousFeature();
    const mask = binding.memfdSeals!(this.fd);
    const bits = binding.sealBits!;
    if (mask < 0) return ['seal'];
    return (['shrink', 'grow', 'write', 'seal'] as const).filter((name) => (mask & bits[name]) !== 0);
  }

  /** Creates a new object; fails with `EEXIST` if the name is taken. */
  static create(name: string, options: SharedMemoryCreateOptions): SharedMemory {
    const normalized = posixName(name);
    const { size, mode, flags } = createFlags(options);
    const native = nativeShm().openSharedMemory(normalized, flags | ShmFlags.EXCLUSIVE, mode, size);
    return new SharedMemory(CONSTRUCT, native, normalized);
  }

  /** Opens an existing object; its size comes from the OS. Fails with `ENOENT` if it is missing. */
  static open(name: string, options?: SharedMemoryOpenOptions): SharedMemory {
    const normalized = posixName(name);
    const opts = validateObject<SharedMemoryOpenOptions>(options, 'options');
    const readOnly = validateBoolean(opts.readOnly, 'options.readOnly', false);
    const native = nativeShm().openSharedMemory(normalized, readOnly ? ShmFlags.READ_ONLY : 0, 0, 0);
    return new SharedMemory(CONSTRUCT, native, normalized);
  }

  /**
   * Opens the object if it exists (with the size it has), else creates it with `size`.
   * `created` tells which happened.
   */
  static openOrCreate(name: string, options: SharedMemoryCreateOptions): SharedMemory {
    const normalized = posixName(name);
    const { size, mode, flags } = createFlags(options);
    const native = nativeShm().openSharedMemory(normalized, flags, mode, size);
    return new SharedMemory(CONSTRUCT, native, normalized);
  }

  /**
   * Removes the name (`shm_unlink`); mappings that are open stay valid until closed. On Windows,
   * which has no unlink (the name goes with the last handle, in any process), it only checks the
   * name, so clean-up code that closes and then unlinks works on both.
   */
  static unlink(name: string): void {
    nativeShm().unlinkSharedMemory(posixName(name));
  }

  /** The object's name, with its leading slash (`'/frames'`). */
  get name(): string {
    return this.#name;
  }

  /** Whether this handle created the object (always `true` after `create`). */
  get created(): boolean {
    return this.native.created;
  }

  /** Removes this object's name. Allowed after `close()`: it concerns the name, not the mapping. */
  unlink(): void {
    if (this.#anonymous) throw new IpcError(ErrorCodes.INVALID_OBJECT, `${this.#name} is anonymous: it has no name to unlink`);
    SharedMemory.unlink(this.#name);
  }
}

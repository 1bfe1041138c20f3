import { constants as bufferConstants } from 'node:buffer';
import { binding, requireFeature, ShmFlags, type NativeMapping } from './binding';
import { CONSTRUCT, constructing } from './errors';
import { Mapping } from './mapping';
import { posixName } from './names';
import { validateBoolean, validateInteger, validateMode, validateObject } from './validate';

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

  private constructor(token: symbol, native: NativeMapping, name: string) {
    super(constructing(token), native, `shared memory object '${name}'`);
    this.#name = name;
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
    SharedMemory.unlink(this.#name);
  }
}

import { constants as bufferConstants } from 'node:buffer';
import { binding, requireFeature } from './binding';
import { CONSTRUCT, constructing, invalidArgValue } from './errors';
import { Mapping } from './mapping';
import { validateBoolean, validateInteger, validateMode, validateObject, validateString } from './validate';

export interface MappedFileOptions {
  /** Map without write access (private copy-on-write, as for `SharedMemory.open`). Default `false`. */
  readOnly?: boolean;
  /**
   * Bytes to map from the start of the file. Default: the file's size. A writable file shorter
   * than `size` is extended to it (never shrunk); a read-only one must already be that long.
   */
  size?: number;
  /** Create the file if it does not exist (with `mode`). Default `false`. */
  create?: boolean;
  /** Permission bits for a file this call creates (filtered by the umask, as `open(2)` does). Default `0o600`. */
  mode?: number;
  /** When extending the file, reserve its blocks (`posix_fallocate`) instead of leaving a hole. Default `true`. */
  reserve?: boolean;
}

export interface MappedFileCreateOptions {
  /** Size of the new file in bytes, all of it mapped: at least 1, at most `buffer.constants.MAX_LENGTH`. */
  size: number;
  /** Permission bits of the new file (filtered by the umask, as `open(2)` does). Default `0o600`. */
  mode?: number;
  /** Reserve the file's blocks (`posix_fallocate`) instead of leaving a hole (`ftruncate`). Default `true`. */
  reserve?: boolean;
}

export interface MappedFileOpenOrCreateOptions extends MappedFileCreateOptions {
  /**
   * Map without write access (private copy-on-write). A file this call creates is still created
   * and sized through a writable descriptor. Default `false`.
   */
  readOnly?: boolean;
}

function validatePath(value: unknown): string {
  const path = validateString(value, 'path');
  if (path.length === 0 || path.includes('\0')) throw invalidArgValue('path', path, 'must be a non-empty path without null bytes');
  return path;
}

function createOptions(options: unknown): { size: number; mode: number; reserve: boolean } {
  const opts = validateObject<MappedFileCreateOptions>(options, 'options');
  return {
    size: validateInteger(opts.size, 'options.size', 1, bufferConstants.MAX_LENGTH),
    mode: validateMode(opts.mode, 'options.mode', 0o600),
    reserve: validateBoolean(opts.reserve, 'options.reserve', true),
  };
}

function openFile(): NonNullable<typeof binding.openFile> {
  requireFeature('mappedFile', 'MappedFile');
  return binding.openFile!;
}

const codeOf = (error: unknown) => (error as { code?: unknown } | null)?.code;

/**
 * A regular file mapped into memory (`open` + `mmap`, shared with every other process that maps
 * it). If another process truncates the file while it is mapped, touching the pages past the new
 * end raises SIGBUS: keep mapped files to a size all parties agree on.
 */
export class MappedFile extends Mapping {
  readonly #path: string;

  private constructor(token: symbol, native: ReturnType<NonNullable<typeof binding.openFile>>, path: string) {
    super(constructing(token), native, `mapped file '${path}'`);
    this.#path = path;
  }

  /**
   * Creates the file, exclusively (`EEXIST` if anything exists at `path`, as `O_EXCL`), sizes it
   * to `size` and maps all of it. If sizing or mapping fails, the new file is removed again.
   */
  static create(path: string, options: MappedFileCreateOptions): MappedFile {
    const p = validatePath(path);
    const { size, mode, reserve } = createOptions(options);
    return new MappedFile(CONSTRUCT, openFile()(p, false, size, true, mode, reserve, true), p);
  }

  /**
   * Maps the file at `path`. With `create: true`, creates it first if it does not exist. This is
   * the flexible form (map a prefix, extend an existing file); `create` and `openOrCreate` are
   * the ones that tell whether this call created the file.
   */
  static open(path: string, options?: MappedFileOptions): MappedFile {
    const p = validatePath(path);
    const opts = validateObject<MappedFileOptions>(options, 'options');
    const readOnly = validateBoolean(opts.readOnly, 'options.readOnly', false);
    const size = opts.size === undefined ? -1 : validateInteger(opts.size, 'options.size', 0, bufferConstants.MAX_LENGTH);
    const create = validateBoolean(opts.create, 'options.create', false);
    const mode = validateMode(opts.mode, 'options.mode', 0o600);
    const reserve = validateBoolean(opts.reserve, 'options.reserve', true);
    if (create && readOnly) throw invalidArgValue('options.create', create, 'cannot be combined with readOnly');
    return new MappedFile(CONSTRUCT, openFile()(p, readOnly, size, create, mode, reserve), p);
  }

  /**
   * Maps the file if it exists (all of it, at the size it has, whatever `size` says), else
   * creates it like `create`. `created` tells which happened.
   */
  static openOrCreate(path: string, options: MappedFileOpenOrCreateOptions): MappedFile {
    const p = validatePath(path);
    const { size, mode, reserve } = createOptions(options);
    const readOnly = validateBoolean(validateObject<MappedFileOpenOrCreateOptions>(options, 'options').readOnly, 'options.readOnly', false);
    const open = openFile();
    // As SharedMemory.openOrCreate does in the addon: create exclusively; if the file exists, open
    // it; if it was removed in between, start again. A few rounds: each lost one means another
    // process removed the file just then, which a retry loop should not wait out forever.
    for (let attempt = 1; ; attempt++) {
      try {
        return new MappedFile(CONSTRUCT, open(p, readOnly, size, true, mode, reserve, true), p);
      } catch (error) {
        if (codeOf(error) !== 'EEXIST') throw error;
      }
      try {
        return new MappedFile(CONSTRUCT, open(p, readOnly, -1, false, 0, reserve, false), p);
      } catch (error) {
        if (codeOf(error) !== 'ENOENT' || attempt === 8) throw error;
      }
    }
  }

  /** The path the file was opened by. */
  get path(): string {
    return this.#path;
  }

  /**
   * Whether this handle created the file: always `true` after `create`; after `openOrCreate`,
   * whether the file was missing. `open()` reports `false`, even with `create: true`, since an
   * `O_CREAT` open cannot tell.
   */
  get created(): boolean {
    return this.native.created;
  }
}

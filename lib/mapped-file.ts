import { constants as bufferConstants } from 'node:buffer';
import { binding, requireFeature } from './binding';
import { CONSTRUCT, constructing } from './errors';
import { Mapping } from './mapping';
import { validateBoolean, validateInteger, validateMode, validateObject, validateString } from './validate';
import { invalidArgValue } from './errors';

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

  /** Maps the file at `path`. */
  static open(path: string, options?: MappedFileOptions): MappedFile {
    validateString(path, 'path');
    if (path.length === 0 || path.includes('\0')) throw invalidArgValue('path', path, 'must be a non-empty path without null bytes');
    const opts = validateObject<MappedFileOptions>(options, 'options');
    const readOnly = validateBoolean(opts.readOnly, 'options.readOnly', false);
    const size = opts.size === undefined ? -1 : validateInteger(opts.size, 'options.size', 0, bufferConstants.MAX_LENGTH);
    const create = validateBoolean(opts.create, 'options.create', false);
    const mode = validateMode(opts.mode, 'options.mode', 0o600);
    const reserve = validateBoolean(opts.reserve, 'options.reserve', true);
    if (create && readOnly) throw invalidArgValue('options.create', create, 'cannot be combined with readOnly');
    requireFeature('mappedFile', 'MappedFile');
    return new MappedFile(CONSTRUCT, binding.openFile!(path, readOnly, size, create, mode, reserve), path);
  }

  /** The path the file was opened by. */
  get path(): string {
    return this.#path;
  }
}

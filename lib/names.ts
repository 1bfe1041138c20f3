import { binding } from './binding';
import { invalidArgValue } from './errors';
import { validateString } from './validate';

/**
 * NAME_MAX, from the addon: the longest name, in bytes, after the leading slash. Where there are
 * no POSIX names, the primitive's own open fails with ERR_IPC_UNSUPPORTED_PLATFORM instead.
 */
const POSIX_NAME_MAX = binding.constants.posixNames?.nameMax ?? Infinity;

/**
 * On Windows, '/frames' is the kernel object `Local\frames` (binding.constants.windowsNames): a
 * backslash would name another namespace, and the whole name is at most MAX_PATH characters.
 */
const WINDOWS_NAMES = binding.constants.windowsNames;

/**
 * Normalises a POSIX IPC name (shared memory, and later semaphores and message queues).
 * `'frames'` and `'/frames'` are the same object, the one C opens with `shm_open("/frames")` and
 * Python with `SharedMemory(name="frames")`. Returns the name with its leading slash. On Windows
 * the object is `Local\frames`.
 */
export function posixName(value: unknown, argName = 'name'): string {
  const name = validateString(value, argName);
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (bare.length === 0) throw invalidArgValue(argName, value, 'must not be empty');
  if (bare.includes('/')) throw invalidArgValue(argName, value, 'must not contain "/" after the leading one');
  if (bare.includes('\0')) throw invalidArgValue(argName, value, 'must not contain null bytes');
  if (bare === '.' || bare === '..') throw invalidArgValue(argName, value, 'must not be "." or ".."');
  if (WINDOWS_NAMES !== undefined) {
    if (bare.includes('\\')) throw invalidArgValue(argName, value, 'must not contain "\\" (Windows object names are `Local\\` and the name)');
    if (bare.length > WINDOWS_NAMES.nameMax) {
      throw invalidArgValue(
        argName,
        value,
        `must be at most ${WINDOWS_NAMES.nameMax} UTF-16 characters after the leading slash (MAX_PATH less "${WINDOWS_NAMES.namespace}"), not ${bare.length}`,
      );
    }
  }
  const bytes = Buffer.byteLength(bare, 'utf8');
  if (bytes > POSIX_NAME_MAX) {
    throw invalidArgValue(argName, value, `must be at most ${POSIX_NAME_MAX} bytes after the leading slash (NAME_MAX), not ${bytes}`);
  }
  return `/${bare}`;
}

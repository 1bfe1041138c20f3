// What the System V primitives share on the TypeScript side: key validation. How a key is shown
// (`0x0000abcd`, as ipcs does) is the addon's: a native handle's `name`, which its errors carry.
import { invalidArgValue } from './errors';
import { validateInteger } from './validate';

const KEY_MIN = -(2 ** 31);
const KEY_MAX = 2 ** 32 - 1;

/**
 * A key as key_t holds it: any 32-bit integer, signed or unsigned (ftok() results and hex
 * constants both fit), but never 0, which is IPC_PRIVATE and has its own createPrivate().
 */
export function validateKey(key: unknown): number {
  const value = validateInteger(key, 'key', KEY_MIN, KEY_MAX);
  if (value === 0) throw invalidArgValue('key', key, 'must not be 0 (IPC_PRIVATE); use createPrivate()');
  return value | 0; // key_t is a signed 32-bit integer
}

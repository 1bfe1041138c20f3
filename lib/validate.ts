// Argument guards. Every public entry point validates here, before any native call or syscall.
import { invalidArgType, outOfRange } from './errors';

export function validateObject<T extends object>(value: unknown, name: string): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgType(name, 'of type object', value);
  }
  return value as T;
}

export function validateInteger(value: unknown, name: string, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} and <= ${max}`, value);
  return value;
}

export function validateBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}

export function validateString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
  return value;
}

/** Permission bits: an integer from 0 to 0o777. */
export function validateMode(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  return validateInteger(value, name, 0, 0o777);
}

// Loads the native addon (a matching prebuild, else the local build) and types its surface.
// The native functions are small and positional; defaults and validation live in TypeScript.
import * as path from 'node:path';
import { libraryError, systemError } from './errors';

/** A native mapping handle (native/common/mapping.cc). */
export interface NativeMapping {
  arrayBuffer(): ArrayBuffer;
  readonly size: number;
  readonly created: boolean;
  readonly readOnly: boolean;
  readonly closed: boolean;
  flush(): void;
  stat(): { size: number; mode: number; uid: number; gid: number };
  close(): void;
}

interface NativeBinding {
  readonly platform: 'posix' | 'unsupported';
  init(
    systemError: (uvErrno: number, syscall: string, path?: string, osCode?: number) => Error,
    libraryError: (kind: number, code: string, message: string) => Error,
  ): void;
  // POSIX only (native/posix/shm.cc).
  openSharedMemory?(name: string, flags: number, mode: number, size: number): NativeMapping;
  unlinkSharedMemory?(name: string): void;
  openFile?(path: string, readOnly: boolean, size: number, create: boolean, mode: number, reserve: boolean): NativeMapping;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load: (dir: string) => unknown = require('node-gyp-build');

/** The directory the addon was loaded from (the package root). */
export const packageRoot = path.join(__dirname, '..');

export const binding = load(packageRoot) as NativeBinding;
binding.init(systemError, libraryError);

/** Flags of `openSharedMemory`, mirroring native/posix/shm.cc. */
export const ShmFlags = {
  CREATE: 1,
  EXCLUSIVE: 2,
  READ_ONLY: 4,
  NO_RESERVE: 8,
} as const;

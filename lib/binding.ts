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

/** A System V message as the addon returns it. */
export interface NativeSysVMessage {
  type: number;
  data: Buffer;
}

/** A native System V message queue handle (native/posix/sysv_mq.cc). */
export interface NativeSysVQueue {
  readonly id: number;
  readonly created: boolean;
  readonly msgmax: number;
  trySend(type: number, data: Uint8Array): boolean;
  /** Receives into `target` (type in bytes 0-7, message from byte 8); returns the length or -1. */
  tryReceiveInto(type: number, target: Uint8Array, noError: boolean): number;
  send(opId: number, type: number, data: Uint8Array): Promise<void>;
  receive(opId: number, type: number, maxSize: number, noError: boolean): Promise<NativeSysVMessage>;
  stop(opId: number, code: string): void;
  ref(): void;
  unref(): void;
  stat(): {
    messages: number; bytes: number; maxBytes: number; lastSendPid: number; lastReceivePid: number;
    lastSendTime: number; lastReceiveTime: number; changeTime: number; mode: number; uid: number; gid: number; cuid: number; cgid: number;
  };
  set(mode: number, maxBytes: number): void;
  remove(): void;
  close(): void;
}

/** A POSIX message as the addon returns it. */
export interface NativePosixMessage {
  data: Buffer;
  priority: number;
}

/** A native POSIX message queue handle (native/posix/posix_mq.cc). */
export interface NativePosixQueue {
  readonly created: boolean;
  readonly messageSize: number;
  attributes(): { maxMessages: number; messageSize: number; currentMessages: number };
  trySend(data: Uint8Array, priority: number): boolean;
  /** Receives into `target` (priority in bytes 0-3, message from byte 8); returns the length or -1. */
  tryReceiveInto(target: Uint8Array): number;
  send(opId: number, data: Uint8Array, priority: number): Promise<void>;
  receive(opId: number): Promise<NativePosixMessage>;
  stop(opId: number, code: string): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** A native POSIX named semaphore handle (native/posix/named_sem.cc). */
export interface NativeSemaphore {
  readonly created: boolean;
  /** sem_getvalue. */
  readonly value: number;
  post(): void;
  tryWait(): boolean;
  /** sem_wait on a waiter thread; lib/ tries tryWait() first. */
  wait(opId: number): Promise<void>;
  /** Blocks this thread; `timeoutMs` -1 waits without limit. Returns false when the time ran out. */
  waitSync(timeoutMs: number): boolean;
  stop(opId: number, code: string): void;
  ref(): void;
  unref(): void;
  close(): void;
}

interface NativeBinding {
  readonly platform: 'posix' | 'unsupported';
  init(
    systemError: (uvErrno: number, syscall: string, path?: string, osName?: string, osDescription?: string) => Error,
    libraryError: (kind: number, code: string, message: string) => Error,
  ): void;
  // POSIX only (native/posix/shm.cc).
  openSharedMemory?(name: string, flags: number, mode: number, size: number): NativeMapping;
  unlinkSharedMemory?(name: string): void;
  openFile?(path: string, readOnly: boolean, size: number, create: boolean, mode: number, reserve: boolean): NativeMapping;
  openSysVQueue?(key: number, flags: number, mode: number): NativeSysVQueue;
  ftok?(path: string, projId: number): number;
  openPosixQueue?(name: string, flags: number, mode: number, maxMessages: number, messageSize: number, defaultMaxMessages: number, defaultMessageSize: number): NativePosixQueue;
  unlinkPosixQueue?(name: string): void;
  openSemaphore?(name: string, flags: number, mode: number, initial: number): NativeSemaphore;
  unlinkSemaphore?(name: string): void;
  readonly semValueMax?: number;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load: (dir: string) => unknown = require('node-gyp-build');

/** The directory the addon was loaded from (the package root). */
export const packageRoot = path.join(__dirname, '..');

export const binding = load(packageRoot) as NativeBinding;
binding.init(systemError, libraryError);

/** Flags of `openSysVQueue` and `openPosixQueue`, mirroring native/posix/sysv_mq.cc and posix_mq.cc. */
export const QueueFlags = {
  CREATE: 1,
  EXCLUSIVE: 2,
  PRIVATE: 4,
} as const;

/** Flags of `openSemaphore`, mirroring native/posix/named_sem.cc. */
export const SemaphoreFlags = {
  CREATE: 1,
  EXCLUSIVE: 2,
} as const;

/** Flags of `openSharedMemory`, mirroring native/posix/shm.cc. */
export const ShmFlags = {
  CREATE: 1,
  EXCLUSIVE: 2,
  READ_ONLY: 4,
  NO_RESERVE: 8,
} as const;

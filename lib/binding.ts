// Loads the native addon (a matching prebuild, else the local build) and types its surface.
// The native functions are small and positional; defaults and validation live in TypeScript.
import * as path from 'node:path';
import { type ErrorLimit, libraryError, systemError, unsupportedPlatform } from './errors';

/** A native mapping handle (native/common/mapping.cc). */
export interface NativeMapping {
  /** ERR_IPC_READ_ONLY for a view that faults on writes (a System V segment attached SHM_RDONLY). */
  arrayBuffer(): ArrayBuffer;
  /** A copy of `length` bytes from `offset`. */
  read(offset: number, length: number): Buffer;
  /** The object's descriptor; -1 if it has none (a System V segment). */
  readonly fd: number;
  readonly size: number;
  readonly created: boolean;
  readonly readOnly: boolean;
  readonly closed: boolean;
  /** What native/linux/sync.cc knows this mapping by. */
  readonly slot: number;
  flush(): void;
  stat(): { size: number; mode: number; uid: number; gid: number };
  close(): void;
}

/** A System V message as the addon returns it. */
export interface NativeSysVMessage {
  type: number;
  data: Buffer;
}

/** A native System V message queue handle (native/linux/sysv_mq.cc). */
export interface NativeSysVQueue {
  readonly id: number;
  /** The key as ipcs shows it (`0x0000abcd`, or `IPC_PRIVATE`): what its errors carry as `path`. */
  readonly name: string;
  readonly created: boolean;
  readonly msgmax: number;
  trySend(type: number, data: Uint8Array): boolean;
  /** Receives into `slab` at `offset` (type in 8 bytes, then the message); returns the length or -1. */
  tryReceiveInto(type: number, slab: Uint8Array, offset: number, maxSize: number, noError: boolean, spinMicros?: number): number;
  /** `timeoutMs` -1: no limit (the same in every wait below). */
  send(opId: number, timeoutMs: number, type: number, data: Uint8Array): Promise<void>;
  receive(opId: number, timeoutMs: number, type: number, maxSize: number, noError: boolean): Promise<NativeSysVMessage>;
  /** Stops a pending wait; `reason` is one of `stopReasons`. */
  stop(opId: number, reason: number): void;
  ref(): void;
  unref(): void;
  stat(): {
    messages: number;
    bytes: number;
    maxBytes: number;
    lastSendPid: number;
    lastReceivePid: number;
    lastSendTime: number;
    lastReceiveTime: number;
    changeTime: number;
    mode: number;
    uid: number;
    gid: number;
    cuid: number;
    cgid: number;
  };
  set(mode: number, maxBytes: number): void;
  remove(): void;
  close(): void;
}

/** A native System V semaphore set handle (native/linux/sysv_sem.cc). */
export interface NativeSysVSemaphoreSet {
  readonly id: number;
  /** The key as ipcs shows it (`0x0000abcd`, or `IPC_PRIVATE`): what its errors carry as `path`. */
  readonly name: string;
  readonly created: boolean;
  readonly count: number;
  /** The kernel's most operations per semop call (SEMOPM), read at open. */
  readonly semopm: number;
  /**
   * `ops` holds (index, delta, flags) triples; flags are {@link SemOpFlags}. Throws EAGAIN instead
   * of returning false when `againIsError`. More than `semopm` operations are refused here, as by
   * op() and opSync(), with `error.limit`.
   */
  tryOp(ops: Int32Array, againIsError: boolean): boolean;
  op(opId: number, timeoutMs: number, ops: Int32Array): Promise<void>;
  /** Waits on the calling thread; `timeout` in milliseconds, -1 for none. */
  opSync(ops: Int32Array, timeout: number): void;
  stop(opId: number, reason: number): void;
  ref(): void;
  unref(): void;
  get(index: number): number;
  set(index: number, value: number): void;
  getAll(): number[];
  setAll(values: Uint16Array): void;
  stat(): {
    count: number;
    mode: number;
    uid: number;
    gid: number;
    cuid: number;
    cgid: number;
    lastOpTime: number;
    changeTime: number;
    waiters: { index: number; forIncrease: number; forZero: number; lastPid: number }[];
  };
  remove(): void;
  close(): void;
}

/** A POSIX message as the addon returns it. */
export interface NativePosixMessage {
  data: Buffer;
  priority: number;
}

/** A native POSIX message queue handle (native/linux/posix_mq.cc). */
export interface NativePosixQueue {
  readonly created: boolean;
  readonly messageSize: number;
  attributes(): { maxMessages: number; messageSize: number; currentMessages: number };
  trySend(data: Uint8Array, priority: number): boolean;
  /** Receives into `slab` at `offset` (priority in 4 bytes, message from 8); returns the length or -1. */
  tryReceiveInto(slab: Uint8Array, offset: number, spinMicros?: number): number;
  send(opId: number, timeoutMs: number, data: Uint8Array, priority: number): Promise<void>;
  receive(opId: number, timeoutMs: number): Promise<NativePosixMessage>;
  stop(opId: number, reason: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/**
 * The layouts and result codes of native/include/ipckit/sync.h, as the addon compiled them
 * (sizeof, offsetof and the header's own macros), and the flags of the addon's condWait.
 */
export interface NativeSyncConstants {
  /** IPCKIT_SYNC_VERSION: what every object's version field holds. */
  readonly version: number;
  /** Every object's alignment, in bytes. */
  readonly alignment: number;
  readonly mutex: { readonly size: number };
  /** `seqOffset`: the futex word a condition's waiters sleep on. */
  readonly condition: { readonly size: number; readonly seqOffset: number };
  /** `stateOffset`: the futex word (generation << 16 | arrived); `generationMask` selects its generation. */
  readonly barrier: { readonly size: number; readonly stateOffset: number; readonly maxParties: number; readonly generationMask: number };
  /** IPCKIT_OK and friends; BUSY is what mutexTryLock returns for a mutex held by another thread. */
  readonly results: {
    readonly OK: number;
    readonly NOT_EQUAL: number;
    readonly TIMED_OUT: number;
    readonly OWNER_DIED: number;
    readonly SERIAL: number;
    readonly BUSY: number;
  };
  /** The bits of condWait's result. */
  readonly condWaitFlags: { readonly TIMED_OUT: number; readonly OWNER_DIED: number };
}

/** Where {@link ErrorLimit} names come from: native/common/constants.h. */
export interface NativeLimitNames {
  readonly msgmni: string;
  readonly msgmax: string;
  readonly msgQbytes: string;
  readonly semmsl: string;
  readonly semmns: string;
  readonly semopm: string;
  readonly semmni: string;
  readonly mqMsgMax: string;
  readonly mqMsgsizeMax: string;
  readonly mqQueuesMax: string;
  readonly mqMsgsize: string;
  readonly rlimitMsgqueue: string;
  readonly waiterThreads: string;
  readonly shmmax: string;
  readonly shmall: string;
  readonly shmmni: string;
}

/** An attached System V segment: its mapping handle, id and key (0: IPC_PRIVATE). */
export interface NativeSysVShm {
  mapping: NativeMapping;
  id: number;
  key: number;
}

/** What IPC_STAT says of a System V shared memory segment (native/linux/sysv_shm.cc); times in seconds, 0 for never. */
export interface NativeSysVShmStat {
  size: number;
  mode: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  attachCount: number;
  creatorPid: number;
  lastPid: number;
  attachTime: number;
  detachTime: number;
  changeTime: number;
  /** SHM_DEST: removal was asked for; the segment goes with its last attachment. */
  removed: boolean;
  key: number;
}

/** `binding.constants`: every number that crosses the binding, frozen, defined in native code only. */
export interface NativeConstants {
  readonly queueFlags: { readonly CREATE: number; readonly EXCLUSIVE: number; readonly PRIVATE: number };
  readonly shmFlags: { readonly CREATE: number; readonly EXCLUSIVE: number; readonly READ_ONLY: number; readonly NO_RESERVE: number };
  readonly semaphoreFlags: { readonly CREATE: number; readonly EXCLUSIVE: number };
  readonly semOpFlags: { readonly UNDO: number; readonly NO_WAIT: number };
  readonly limits: NativeLimitNames;
  /** Linux only (native/linux/sync.cc). */
  readonly sync?: NativeSyncConstants;
  /**
   * POSIX only (native/linux/named_sem.cc). `nameMax`: NAME_MAX, the longest name in bytes after
   * the leading slash. glibc keeps the semaphore '/jobs' as /dev/shm/sem.jobs: its
   * `semaphoreFilePrefix` takes part of NAME_MAX, which leaves `semaphoreNameMax`.
   */
  readonly posixNames?: { readonly nameMax: number; readonly semaphoreFilePrefix: string; readonly semaphoreNameMax: number };
  /**
   * Windows only (native/win/names.h): ipckit's '/jobs' is the kernel object `Local\jobs`
   * (`namespace` and the name); `nameMax` is the longest name in UTF-16 units after the slash.
   */
  readonly windowsNames?: { readonly namespace: string; readonly nameMax: number };
  /**
   * Windows only (native/win/shm.cc): an opened mapping's size is its section's, which Windows
   * keeps in whole pages of `sizeGranularity` bytes.
   */
  readonly windowsSharedMemory?: { readonly sizeGranularity: number };
  /** POSIX only (native/linux/posix_mq.cc): the highest message priority (MQ_PRIO_MAX - 1). */
  readonly posixQueue?: { readonly priorityMax: number };
  /** POSIX only (native/linux/sysv_sem.cc): the largest value a System V semaphore holds (SEMVMX). */
  readonly sysvSemaphore?: { readonly valueMax: number };
}

/** Waits and locks in mapped memory (native/linux/sync.cc over native/include/ipckit/sync.h). */
export interface NativeSync {
  /** The sizes and alignment of {@link NativeSyncConstants}, as the first callers read them. */
  layout: { version: number; mutexSize: number; conditionSize: number; barrierSize: number; alignment: number };
  futexWait(slot: number, offset: number, expected: number, timeoutMs: number): number;
  futexWake(slot: number, offset: number, count: number): number;
  futexWaitBrief(slot: number, offset: number, expected: number, micros: number, slackMicros?: number): number;
  /** Resolves 0 woken, 1 not equal, 2 timed out. */
  futexWaitAsync(slot: number, opId: number, timeoutMs: number, offset: number, expected: number, referenced: boolean): Promise<number>;
  /** Rejects with ERR_IPC_TIMEOUT at the deadline. */
  mutexSleepAsync(slot: number, opId: number, timeoutMs: number, offset: number, referenced: boolean): Promise<number>;
  waitStop(slot: number, opId: number, reason: number): void;
  waitRef(slot: number, opId: number, referenced: boolean): void;
  mutexInit(slot: number, offset: number): void;
  mutexValid(slot: number, offset: number): boolean;
  mutexTryLock(slot: number, offset: number): number;
  mutexLock(slot: number, offset: number, timeoutMs: number): number;
  mutexMarkWaiters(slot: number, offset: number): void;
  mutexUnlock(slot: number, offset: number): void;
  mutexConsistent(slot: number, offset: number): void;
  /** Whether this thread holds the mutex at `offset` (as the addon's record of held mutexes says). */
  mutexHeld(slot: number, offset: number): boolean;
  condInit(slot: number, offset: number): void;
  condValid(slot: number, offset: number): boolean;
  /** Flags ({@link NativeSyncConstants.condWaitFlags}): timed out, the mutex's holder died (relocked inconsistent). */
  condWait(slot: number, condOffset: number, mutexOffset: number, timeoutMs: number): number;
  condPrepare(slot: number, offset: number): number;
  condDone(slot: number, offset: number): void;
  condNotify(slot: number, offset: number, all: boolean): number;
  barrierInit(slot: number, offset: number, parties: number): void;
  barrierParties(slot: number, offset: number): number;
  barrierWait(slot: number, offset: number, timeoutMs: number): number;
  barrierArrive(slot: number, offset: number): number;
  barrierState(slot: number, offset: number): number;
  barrierWithdraw(slot: number, offset: number, generation: number): boolean;
}

/**
 * The futex calls a Channel sleeps and wakes with: Linux's own (`sync`), or on Windows named
 * auto-reset events per word (native/win/channel_events.cc), whose futexWake always returns 0.
 */
export type NativeChannelWaits = Pick<NativeSync, 'futexWait' | 'futexWake' | 'futexWaitBrief' | 'futexWaitAsync' | 'waitStop' | 'waitRef'>;

/** A native named semaphore handle (native/linux/named_sem.cc, native/win/named_sem.cc). */
export interface NativeSemaphore {
  readonly created: boolean;
  /** sem_getvalue. */
  readonly value: number;
  post(): void;
  tryWait(): boolean;
  /** sem_wait (sem_clockwait with a timeout) on a waiter thread; lib/ tries tryWait() first. */
  wait(opId: number, timeoutMs: number): Promise<void>;
  /** Blocks this thread; `timeoutMs` -1 waits without limit. Returns false when the time ran out. */
  waitSync(timeoutMs: number): boolean;
  stop(opId: number, reason: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** A native eventfd handle (native/linux/eventfd.cc). */
export interface NativeEventFd {
  readonly fd: number;
  readonly semaphore: boolean;
  tryRead(): bigint | null;
  tryWrite(value: bigint): boolean;
  read(opId: number, timeoutMs: number): Promise<bigint>;
  write(opId: number, timeoutMs: number, value: bigint): Promise<void>;
  stop(opId: number, reason: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** A native Unix socket (native/posix/unix_socket.cc). */
export interface NativeUnixSocket {
  readonly fd: number;
  peerCredentials(): { pid: number; uid: number; gid: number };
  send(opId: number, timeoutMs: number, data: Uint8Array, fds: number[]): Promise<void>;
  /** undefined: nothing waiting; null: end of stream. */
  tryReceive(): { data: Buffer; fds: number[] } | null | undefined;
  receive(opId: number, timeoutMs: number): Promise<{ data: Buffer; fds: number[] } | null>;
  shutdown(): void;
  stop(opId: number, reason: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** A native listening Unix socket (native/posix/unix_socket.cc). */
export interface NativeUnixServer {
  tryAccept(): NativeUnixSocket | null;
  accept(opId: number, timeoutMs: number): Promise<NativeUnixSocket>;
  stop(opId: number, reason: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** A native mailslot server handle (native/win/mailslot.cc). */
export interface NativeMailslot {
  /** GetMailslotInfo: `nextSize` -1 when no message is waiting. */
  info(): { maxMessageSize: number; nextSize: number; messageCount: number };
  /** The next message if one is waiting and no receive of this handle is reading, else null. Never waits. */
  tryReceive(): Buffer | null;
  /** Reads the next message whole on a waiter thread; `timeoutMs` -1: no limit. */
  receive(opId: number, timeoutMs: number): Promise<Buffer>;
  stop(opId: number, reason: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** A native named pipe server (native/win/pipe.cc). */
export interface NativePipeServer {
  /** Resolves with the next client's connection. `timeoutMs` -1: no limit (the same below). */
  accept(opId: number, timeoutMs: number): Promise<NativePipeConnection>;
  stop(opId: number, reason: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** A native mailslot writer handle (native/win/mailslot.cc). */
export interface NativeMailslotWriter {
  /** One WriteFile of the whole message. */
  send(data: Uint8Array): void;
  close(): void;
}

/** A native named pipe connection, either end (native/win/pipe.cc). */
export interface NativePipeConnection {
  readonly messageMode: boolean;
  readonly clientProcessId: number;
  readonly serverProcessId: number;
  /** A client made by newPipeClient: opens the pipe, waiting while every instance is busy. */
  connect(opId: number, timeoutMs: number): Promise<void>;
  /** Up to `size` bytes; null at the end (the peer closed). */
  read(opId: number, timeoutMs: number, size: number): Promise<Buffer | null>;
  /** One whole message (message mode). */
  receive(opId: number, timeoutMs: number): Promise<Buffer>;
  /** Resolves once every byte is written; a rejection carries `bytesWritten`. */
  write(opId: number, timeoutMs: number, data: Uint8Array): Promise<void>;
  stop(opId: number, reason: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** The wait of one `Fifo.openWriter(path, { wait: true })` for a reader (native/posix/fifo.cc). */
export interface NativeFifoOpener {
  /** Resolves with a non-blocking, close-on-exec descriptor open for writing, once a reader is there. */
  openWriter(opId: number, timeoutMs: number): Promise<number>;
  stop(opId: number, reason: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** The primitives a build can have; `binding.features` says which this one has (native/<platform>/register.cc). */
export type FeatureName =
  | 'sharedMemory'
  | 'mappedFile'
  | 'sysvMessageQueue'
  | 'sysvSemaphoreSet'
  | 'namedSemaphore'
  | 'posixMessageQueue'
  | 'sync'
  | 'sysvSharedMemory'
  | 'eventFd'
  | 'anonymousSharedMemory'
  | 'unixSocket'
  | 'namedPipe'
  | 'mailslot'
  | 'channelEvents'
  | 'windows'
  | 'signals'
  | 'fifo'
  | 'introspection';

/** A receiver of signals (native/posix/signals.cc); records arrive through the callback it was opened with. */
export interface NativeSignalReceiver {
  ref(): void;
  unref(): void;
  close(): void;
}

interface NativeBinding {
  /** The platform the addon was built for ('linux', ...). */
  readonly platform: string;
  /** Each primitive this build has, as `name: true`. The functions of a feature exist exactly when it is listed. */
  readonly features: Readonly<Partial<Record<FeatureName, true>>>;
  /** Why a wait was stopped, as the addon numbers it (native/common/errors.h StopReason). */
  readonly stopReasons: { readonly timeout: number; readonly aborted: number; readonly closed: number };
  readonly constants: NativeConstants;
  init(
    systemError: (
      uvErrno: number,
      syscall: string,
      path?: string,
      osName?: string,
      osDescription?: string,
      hint?: string,
      limit?: ErrorLimit,
      osErrno?: number,
    ) => Error,
    libraryError: (kind: number, code: string, message: string, limit?: ErrorLimit) => Error,
  ): void;
  // Present only where binding.features lists them (see requireFeature).
  openSharedMemory?(name: string, flags: number, mode: number, size: number): NativeMapping;
  unlinkSharedMemory?(name: string): void;
  openFile?(path: string, readOnly: boolean, size: number, create: boolean, mode: number, reserve: boolean, exclusive?: boolean): NativeMapping;
  openSysVQueue?(key: number, flags: number, mode: number): NativeSysVQueue;
  ftok?(path: string, projId: number): number;
  openSysVSemaphoreSet?(key: number, flags: number, mode: number, count: number): NativeSysVSemaphoreSet;
  sysvSemLimits?(): { semmsl: number; semmns: number; semopm: number; semmni: number };
  /** `flags` are {@link QueueFlags}; `size` is used only when a segment is created. */
  openSysVSharedMemory?(key: number, flags: number, mode: number, size: number, readOnly: boolean): NativeSysVShm;
  /** shmat by id. */
  attachSysVSharedMemory?(id: number, readOnly: boolean): NativeSysVShm;
  statSysVSharedMemory?(id: number, name: string): NativeSysVShmStat;
  removeSysVSharedMemory?(id: number, name: string): void;
  removeSysVSharedMemoryKey?(key: number): void;
  /** `seals`: F_SEAL_* bits ({@link sealBits}). */
  createAnonymousSharedMemory?(name: string, size: number, seals: number, reserve: boolean): NativeMapping;
  /** F_GET_SEALS: -1 for an object that cannot be sealed. */
  memfdSeals?(fd: number): number;
  readonly sealBits?: { readonly shrink: number; readonly grow: number; readonly write: number; readonly seal: number };
  openSharedMemoryFd?(fd: number, readOnly: boolean): NativeMapping;
  unixConnect?(path: string, type: string): NativeUnixSocket;
  unixListen?(path: string, type: string, backlog: number, mode: number): NativeUnixServer;
  unixPair?(type: string): [NativeUnixSocket, NativeUnixSocket];
  unixFromFd?(fd: number): NativeUnixSocket;
  createEventFd?(initial: number, semaphore: boolean): NativeEventFd;
  eventFdFromFd?(fd: number, semaphore: boolean): NativeEventFd;
  /** -1 where a limit cannot be read. */
  sysvShmLimits?(): { shmmax: number; shmall: number; shmmni: number };
  /** `maxMessages` and `messageSize` 0 for the system's defaults (the addon reads them). */
  openPosixQueue?(name: string, flags: number, mode: number, maxMessages: number, messageSize: number): NativePosixQueue;
  /** The limits and defaults of /proc/sys/fs/mqueue, read at the call. */
  posixQueueLimits?(): { msgMax: number; msgsizeMax: number; msgDefault: number; msgsizeDefault: number; queuesMax: number };
  unlinkPosixQueue?(name: string): void;
  sync?: NativeSync;
  /** Windows: the Channel's waits on named events (native/win/channel_events.cc). */
  channelEvents?: NativeChannelWaits;
  openSemaphore?(name: string, flags: number, mode: number, initial: number): NativeSemaphore;
  unlinkSemaphore?(name: string): void;
  readonly semValueMax?: number;
  /** Creates a FIFO with exactly `mode` (not narrowed by the umask). */
  makeFifo?(path: string, mode: number): void;
  /** A non-blocking, close-on-exec descriptor of the FIFO; ENXIO when opening for writing with no reader. */
  openFifo?(path: string, forWriting: boolean): number;
  /** Checks that `path` is a FIFO, for a wait for its reader. */
  newFifoOpener?(path: string): NativeFifoOpener;
  /** Windows: `maxMessageSize` 0 for any size, `readTimeoutMs` -1 for MAILSLOT_WAIT_FOREVER. */
  createMailslot?(name: string, maxMessageSize: number, readTimeoutMs: number): NativeMailslot;
  openMailslotWriter?(name: string): NativeMailslotWriter;
  /** Opens the name, writes one message, closes it. */
  sendMailslot?(name: string, data: Uint8Array): void;
  /** Windows: a server with its first instance listening. `sddl` null: the default security. */
  createPipeServer?(
    name: string,
    direction: 'duplex' | 'inbound' | 'outbound',
    messageMode: boolean,
    maxInstances: number,
    outBufferSize: number,
    inBufferSize: number,
    rejectRemoteClients: boolean,
    sddl: string | null,
  ): NativePipeServer;
  /** Windows: a client connection, not connected yet. */
  newPipeClient?(name: string, messageMode: boolean): NativePipeConnection;
  /** Windows: Wine's version when running under Wine, else null (native/win/register.cc). */
  wineVersion?(): string | null;
  /** Windows: native/win/errors.cc's table of Win32 errors and the libuv numbers they become (0: none). */
  win32Errors?(): { osErrno: number; osCode: string; errno: number }[];
  /** Windows: the kernel handles this process has open (GetProcessHandleCount), for leak tests. */
  processHandleCount?(): number;
  /** Windows: whether a kernel object of that kind and full name (`Local\\x`) is open anywhere. */
  namedObjectExists?(kind: 'event' | 'semaphore' | 'mapping', name: string): boolean;
  /** Windows: the error ipckit throws for a Win32 code, as if CreateFileW had failed on `path`. */
  systemErrorFor?(osErrno: number, path: string): Error;
  /** POSIX: takes `signals` for a new receiver; `records` holds 5 int32 per signal (signo, code, pid, uid, value). */
  openSignalReceiver?(signals: number[], callback: (records: Int32Array, dropped: number, error: Error | null) => void): NativeSignalReceiver;
  /** Linux: mq_open (read, else write; never create) + fstat + mq_getattr of a named queue, closed again. */
  posixQueueStat?(name: string): {
    dev: number;
    ino: number;
    mode: number;
    uid: number;
    gid: number;
    messages: number;
    maxMessages: number;
    messageSize: number;
  };
  /** Linux: IPC_RMID by id; `kind` 0 queue, 1 semaphore set, 2 shared memory segment. */
  sysvRemoveId?(kind: 0 | 1 | 2, id: number): void;
  /** Linux: each semaphore of a set: GETVAL, GETPID, GETNCNT, GETZCNT. */
  /** Linux: sysconf(_SC_PAGESIZE), the unit of shmall. */
  readonly pageSize?: number;
  sysvSemaphoreValues?(id: number): { value: number; lastPid: number; waiting: number; waitingForZero: number }[];
  /** POSIX: sigqueue(pid, signal, { sival_int: value }). */
  sendSignal?(pid: number, signal: number, value: number): void;
  /** POSIX: what a signal's disposition is now, for tests. */
  signalDisposition?(signal: number): 'default' | 'ignore' | 'ipckit' | 'other';
  /** POSIX: SIGRTMIN and SIGRTMAX as the C library reports them, and the waiter pool's cancel signal. */
  readonly signalNumbers?: { readonly rtmin: number; readonly rtmax: number; readonly cancel: number };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load: (dir: string) => unknown = require('node-gyp-build');

/** The directory the addon was loaded from (the package root). */
export const packageRoot = path.join(__dirname, '..');

export const binding = load(packageRoot) as NativeBinding;
binding.init(systemError, libraryError);

/**
 * Throws ERR_IPC_UNSUPPORTED_PLATFORM unless this build has `feature`; `what` names it in the message.
 * The facade asks the binding what exists rather than keeping its own list of platforms.
 */
export function requireFeature(feature: FeatureName, what: string): void {
  if (binding.features[feature] !== true) throw unsupportedPlatform(what);
}

/** Flags of `openSysVQueue`, `openSysVSemaphoreSet` and `openPosixQueue`. */
export const QueueFlags = binding.constants.queueFlags;

/** Bits of an operation's flags in `NativeSysVSemaphoreSet.tryOp` and friends. */
export const SemOpFlags = binding.constants.semOpFlags;

/** Flags of `openSemaphore`. */
export const SemaphoreFlags = binding.constants.semaphoreFlags;

/** Flags of `openSharedMemory`. */
export const ShmFlags = binding.constants.shmFlags;

/** The names `error.limit` carries, for lib/'s own checks against limits the addon read. */
export const LimitNames = binding.constants.limits;

/**
 * The layouts and result codes of native/include/ipckit/sync.h as the addon compiled them;
 * ERR_IPC_UNSUPPORTED_PLATFORM where the addon has no waits in shared memory.
 */
export function syncConstants(): NativeSyncConstants {
  const { sync } = binding.constants;
  if (sync === undefined) throw unsupportedPlatform('waits in shared memory');
  return sync;
}

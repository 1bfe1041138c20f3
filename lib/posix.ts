/**
 * `ipckit/posix`: the primitives that exist only on POSIX systems, behind an explicit door (they
 * are also exported from the package root). On other systems their calls throw
 * ERR_IPC_UNSUPPORTED_PLATFORM.
 * @packageDocumentation
 */
export { SysVMessageQueue, ftok } from './sysv-message-queue';
export type { SysVMessage, SysVSendOptions, SysVReceiveOptions, SysVQueueStats } from './sysv-message-queue';
export { SysVSemaphoreSet } from './sysv-semaphore-set';
export type { SemaphoreOp, SysVSemaphoreSetOptions, SysVSemaphoreSetStats, SysVSemaphoreWaiters } from './sysv-semaphore-set';
export { SysVSharedMemory } from './sysv-shared-memory';
export { EventFd } from './eventfd';
export type { EventFdOptions, EventFdReadOptions } from './eventfd';
export { UnixSocket, UnixServer, sendFds, receiveFds, peerCredentials, MAX_FDS_PER_MESSAGE } from './unix-socket';
export type { UnixSocketType, FdMessage, PeerCredentials, UnixServerOptions } from './unix-socket';
export type {
  SysVSharedMemoryCreateOptions,
  SysVSharedMemoryOpenOptions,
  SysVSharedMemoryOpenOrCreateOptions,
  SysVSharedMemoryStats,
} from './sysv-shared-memory';
export { PosixMessageQueue, posixQueueLimits } from './posix-message-queue';
export type { PosixMessage, PosixQueueCreateOptions, PosixSendOptions, PosixQueueAttributes } from './posix-message-queue';
export { sendSignal, receiveSignals } from './signals';
export type { SignalReceiver, ReceivedSignal, ReceiveSignalsOptions, SignalSource } from './signals';
export { Fifo, mkfifo } from './fifo';
export type { MkfifoOptions, FifoReaderOptions, FifoWriterOptions } from './fifo';

/**
 * ipckit: the operating system's inter-process communication for Node.js.
 * @packageDocumentation
 */
export { SharedMemory } from './shared-memory';
export type { SharedMemoryCreateOptions, SharedMemoryOpenOptions, SharedMemoryAnonymousOptions, SealName } from './shared-memory';
export { MappedFile } from './mapped-file';
export type { MappedFileOptions, MappedFileCreateOptions, MappedFileOpenOrCreateOptions } from './mapped-file';
export { Mapping } from './mapping';
export type { MappingStats, ViewConstructor } from './mapping';
export { ErrorCodes, IpcError } from './errors';
export type { SystemError } from './errors';
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
export type { MessageData, ReceiveWaitOptions } from './message-queue';
export { Semaphore } from './semaphore';
export type { SemaphoreCreateOptions } from './semaphore';
export type { WaitOptions } from './waiting';
export { wait, waitAsync, wake } from './futex';
export type { WaitResult, WaitAsyncOptions } from './futex';
export { Mutex } from './mutex';
export type { LockResult } from './mutex';
export { Condition } from './condition';
export { Barrier } from './barrier';
export { Channel } from './channel';
export type { ChannelRole, ChannelEndState, ChannelCreateOptions, ChannelOpenOptions, ChannelWaitOptions, ChannelWaitingOptions } from './channel';
export { NamedPipe, NamedPipeServer } from './named-pipe';
export type { NamedPipeMode, NamedPipeDirection, NamedPipeServerOptions, NamedPipeConnectOptions } from './named-pipe';
export { Mailslot, MailslotWriter, MAILSLOT_NAME_MAX, MAILSLOT_REMOTE_MESSAGE_MAX } from './mailslot';
export type { MailslotCreateOptions, MailslotInfo } from './mailslot';
export { sendSignal, receiveSignals } from './signals';
export type { SignalReceiver, ReceivedSignal, ReceiveSignalsOptions, SignalSource } from './signals';
export { Fifo, mkfifo } from './fifo';
export type { MkfifoOptions, FifoReaderOptions, FifoWriterOptions } from './fifo';
export { list, limits, IpcObject, IPC_OBJECT_KINDS, IPC_OBJECT_KIND_NAMES } from './introspect';
export type {
  IpcObjectKind,
  IpcObjectFields,
  IpcObjectList,
  IpcObjectStat,
  IpcHolder,
  IpcLimits,
  ListFilter,
  UnlistedKind,
  SysVSemaphoreState,
} from './introspect';

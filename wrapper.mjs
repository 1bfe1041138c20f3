// ES module entry: the same objects as require('ipckit'), so both module systems share one addon
// instance per thread.
import ipckit from './dist/index.js';

export const {
  SharedMemory,
  MappedFile,
  Mapping,
  ErrorCodes,
  IpcError,
  SysVMessageQueue,
  ftok,
  PosixMessageQueue,
  posixQueueLimits,
  SysVSemaphoreSet,
  Semaphore,
  wait,
  waitAsync,
  wake,
  Mutex,
  Condition,
  Barrier,
  Channel,
  NamedPipe,
  NamedPipeServer,
  Mailslot,
  MailslotWriter,
  MAILSLOT_NAME_MAX,
  MAILSLOT_REMOTE_MESSAGE_MAX,
  Fifo,
  mkfifo,
} = ipckit;
export default ipckit;

// ES module entry of `ipckit/posix`: the same objects as require('ipckit/posix').
import posix from './dist/posix.js';

export const {
  SysVMessageQueue,
  ftok,
  SysVSemaphoreSet,
  SysVSharedMemory,
  EventFd,
  UnixSocket,
  UnixServer,
  sendFds,
  receiveFds,
  peerCredentials,
  MAX_FDS_PER_MESSAGE,
  PosixMessageQueue,
  posixQueueLimits,
  sendSignal,
  receiveSignals,
  Fifo,
  mkfifo,
} = posix;
export default posix;

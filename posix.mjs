// ES module entry of `ipckit/posix`: the same objects as require('ipckit/posix').
import posix from './dist/posix.js';

export const { SysVMessageQueue, ftok, SysVSemaphoreSet, PosixMessageQueue, posixQueueLimits } = posix;
export const { Fifo, mkfifo } = posix;
export default posix;

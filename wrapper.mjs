// ES module entry: the same objects as require('ipckit'), so both module systems share one addon
// instance per thread.
import ipckit from './dist/index.js';

export const { SharedMemory, MappedFile, Mapping, ErrorCodes, IpcError, SysVMessageQueue, ftok, PosixMessageQueue, posixQueueLimits, Semaphore } = ipckit;
export default ipckit;

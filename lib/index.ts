/**
 * ipckit: the operating system's inter-process communication for Node.js.
 * @packageDocumentation
 */
export { SharedMemory } from './shared-memory';
export type { SharedMemoryCreateOptions, SharedMemoryOpenOptions } from './shared-memory';
export { MappedFile } from './mapped-file';
export type { MappedFileOptions } from './mapped-file';
export { Mapping } from './mapping';
export type { MappingStats, ViewConstructor } from './mapping';
export { ErrorCodes, IpcError } from './errors';
export type { SystemError } from './errors';

/**
 * `ipckit/windows`: the primitives that exist only on Windows, behind an explicit door (they are
 * also exported from the package root). On other systems their factories throw
 * ERR_IPC_UNSUPPORTED_PLATFORM.
 * @packageDocumentation
 */
export { NamedPipe, NamedPipeServer } from './named-pipe';
export type { NamedPipeMode, NamedPipeDirection, NamedPipeServerOptions, NamedPipeConnectOptions } from './named-pipe';
export { Mailslot, MailslotWriter, MAILSLOT_NAME_MAX, MAILSLOT_REMOTE_MESSAGE_MAX } from './mailslot';
export type { MailslotCreateOptions, MailslotInfo } from './mailslot';

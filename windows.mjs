// ES module entry of `ipckit/windows`: the same objects as require('ipckit/windows').
import windows from './dist/windows.js';

export const { NamedPipe, NamedPipeServer, Mailslot, MailslotWriter, MAILSLOT_NAME_MAX, MAILSLOT_REMOTE_MESSAGE_MAX } = windows;
export default windows;

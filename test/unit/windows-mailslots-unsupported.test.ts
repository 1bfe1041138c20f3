// On Linux, Windows mailslots do not exist: the build lists no 'mailslot' feature, every factory
// throws ERR_IPC_UNSUPPORTED_PLATFORM before it looks at its arguments or calls the system, and
// the classes cannot be constructed from outside (ERR_ILLEGAL_CONSTRUCTOR).
import { binding } from '../../lib/binding';
import { Mailslot, MailslotWriter } from '../../lib/mailslot';
import { thrown } from '../helpers';

test('this Linux build has no mailslots', () => {
  expect(process.platform).toBe('linux');
  expect(binding.features.mailslot).toBeUndefined();
  expect(binding.createMailslot).toBeUndefined();
  expect(binding.sendMailslot).toBeUndefined();
});

test.each([
  ['Mailslot.create', () => Mailslot.create('ipckit-linux')],
  ['Mailslot.create, bad arguments', () => Mailslot.create(42 as unknown as string, { maxMessageSize: -1 })],
  ['Mailslot.send', () => Mailslot.send('\\\\.\\mailslot\\ipckit-linux', 'x')],
  ['Mailslot.openWriter', () => Mailslot.openWriter('ipckit-linux')],
])('%s throws ERR_IPC_UNSUPPORTED_PLATFORM', (_what, call) => {
  expect(thrown(call)).toMatchObject({ code: 'ERR_IPC_UNSUPPORTED_PLATFORM', message: expect.stringContaining('linux') });
});

test('the classes are made only by their factories: ERR_ILLEGAL_CONSTRUCTOR', () => {
  const Slot = Mailslot as unknown as new (...args: unknown[]) => unknown;
  const Writer = MailslotWriter as unknown as new (...args: unknown[]) => unknown;
  expect(thrown(() => new Slot()).code).toBe('ERR_ILLEGAL_CONSTRUCTOR');
  expect(thrown(() => new Writer(Symbol('x'), {}, {})).code).toBe('ERR_ILLEGAL_CONSTRUCTOR');
});

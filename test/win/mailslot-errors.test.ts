// Every mailslot error path: bad names are refused before anything reaches Windows, a name that
// exists or does not gives the Node code with the Win32 one kept, use after close is
// ERR_IPC_CLOSED, and the process goes on. A mailslot's name goes with its last handle, so a
// name that can be created again proves that close() (with a receive pending, too) closed it.
import { Mailslot, MailslotWriter, MAILSLOT_NAME_MAX } from '../../lib/mailslot';
import { runNode, thrown } from '../helpers';

let counter = 0;
function slotName(tag: string): string {
  counter += 1;
  return `ipckit-err-${tag}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

const invalidNames: [string, unknown][] = [
  ['empty', ''],
  ['not a string', 42],
  ['a NUL character', 'a\0b'],
  ['another device', '\\\\.\\pipe\\ipckit'],
  ['a file path', 'C:\\temp\\x'],
  ['a prefix without a name', '\\\\.\\mailslot\\'],
  ['an empty level', 'app\\\\jobs'],
  ['a .. level', 'app\\..\\jobs'],
  ['a reserved character <', 'a<b'],
  ['a reserved character |', 'a|b'],
  ['a reserved character ?', 'a?b'],
  ['a reserved character *', 'a*b'],
  ['a reserved character :', 'a:b'],
  ['a forward slash', 'a/b'],
  ['a control character', 'a\u0001b'],
  ['a level ending in a dot', 'jobs.'],
  ['a level ending in a space', 'jobs '],
  ['too long', 'x'.repeat(MAILSLOT_NAME_MAX)],
];

test.each(invalidNames)('a name with %s is refused by create, send and openWriter', (_what, name) => {
  for (const call of [() => Mailslot.create(name as string), () => Mailslot.send(name as string, 'x'), () => Mailslot.openWriter(name as string)]) {
    const error = thrown(call);
    expect(error.code).toBe(typeof name === 'string' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE');
  }
});

test('the longest name is accepted, one more character is not', () => {
  const prefix = '\\\\.\\mailslot\\';
  const base = slotName('long');
  const longest = `${prefix}${base}${'x'.repeat(MAILSLOT_NAME_MAX - prefix.length - base.length)}`;
  expect(longest.length).toBe(MAILSLOT_NAME_MAX);
  const slot = Mailslot.create(longest);
  try {
    Mailslot.send(longest, 'fits');
    expect(slot.tryReceive()!.toString()).toBe('fits');
  } finally {
    slot.close();
  }
  expect(thrown(() => Mailslot.create(`${longest}y`)).message).toContain(`at most ${MAILSLOT_NAME_MAX} characters`);
});

test('a slot is created only on this computer', () => {
  expect(thrown(() => Mailslot.create('\\\\other-host\\mailslot\\jobs')).code).toBe('ERR_INVALID_ARG_VALUE');
  expect(thrown(() => Mailslot.create('\\\\*\\mailslot\\jobs')).code).toBe('ERR_INVALID_ARG_VALUE');
});

test('bad options are refused', () => {
  const name = slotName('options');
  expect(thrown(() => Mailslot.create(name, { maxMessageSize: -1 })).code).toBe('ERR_OUT_OF_RANGE');
  expect(thrown(() => Mailslot.create(name, { maxMessageSize: 1.5 })).code).toBe('ERR_OUT_OF_RANGE');
  expect(thrown(() => Mailslot.create(name, { readTimeout: -5 })).code).toBe('ERR_OUT_OF_RANGE');
  expect(thrown(() => Mailslot.create(name, { readTimeout: '10' as unknown as number })).code).toBe('ERR_INVALID_ARG_TYPE');
  expect(thrown(() => Mailslot.create(name, 'x' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
  expect(thrown(() => Mailslot.send(slotName('data'), 42 as never)).code).toBe('ERR_INVALID_ARG_TYPE');
  // None of them made the slot.
  expect(thrown(() => Mailslot.send(name, 'x'))).toMatchObject({ code: 'ENOENT' });
});

test('creating a name that exists: EEXIST, with the Win32 error kept', () => {
  const name = slotName('exists');
  const slot = Mailslot.create(name);
  try {
    expect(thrown(() => Mailslot.create(name))).toMatchObject({
      code: 'EEXIST',
      osCode: 'ERROR_ALREADY_EXISTS',
      osErrno: 183,
      syscall: 'CreateMailslotW',
      path: slot.name,
    });
  } finally {
    slot.close();
  }
});

test('a send to, or a writer of, a mailslot that does not exist: ENOENT, and nothing is left open', () => {
  const name = slotName('missing');
  const expected = { code: 'ENOENT', osCode: 'ERROR_FILE_NOT_FOUND', osErrno: 2, syscall: 'CreateFileW', path: `\\\\.\\mailslot\\${name}` };
  expect(thrown(() => Mailslot.send(name, 'lost'))).toMatchObject(expected);
  expect(thrown(() => Mailslot.openWriter(name))).toMatchObject(expected);
  // Created afterwards, it is empty: the failed sends wrote nothing anywhere.
  const slot = Mailslot.create(name);
  try {
    expect(slot.info()).toMatchObject({ nextSize: null, messageCount: 0 });
  } finally {
    slot.close();
  }
});

test('use after close: ERR_IPC_CLOSED from every method, close() idempotent, and the name is free again', async () => {
  const name = slotName('closed');
  const slot = Mailslot.create(name);
  const writer = Mailslot.openWriter(name);
  slot.close();
  slot.close();
  expect(slot.closed).toBe(true);
  expect(thrown(() => slot.info()).code).toBe('ERR_IPC_CLOSED');
  expect(thrown(() => slot.tryReceive()).code).toBe('ERR_IPC_CLOSED');
  await expect(slot.receive()).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
  writer.close();
  writer.close();
  expect(writer.closed).toBe(true);
  expect(thrown(() => writer.send('x')).code).toBe('ERR_IPC_CLOSED');
  const again = Mailslot.create(name);
  again.close();
});

test('a writer whose slot was closed: the write is refused with a code or goes nowhere, and the process goes on', () => {
  const name = slotName('gone');
  const slot = Mailslot.create(name);
  const writer = Mailslot.openWriter(name);
  writer.send('before');
  expect(slot.tryReceive()!.toString()).toBe('before');
  slot.close();
  let error: NodeJS.ErrnoException | undefined;
  try {
    writer.send('after');
  } catch (caught) {
    error = caught as NodeJS.ErrnoException;
  }
  // Windows documents no error for a datagram to a slot that is gone; where one comes it is coded.
  if (error !== undefined) expect(error).toMatchObject({ code: expect.any(String), syscall: 'WriteFile', path: `\\\\.\\mailslot\\${name}` });
  writer.close();
  // A new slot of that name receives nothing written to the old one.
  const fresh = Mailslot.create(name);
  try {
    expect(fresh.tryReceive()).toBeNull();
  } finally {
    fresh.close();
  }
});

test('close() with receives pending on waiter threads frees the name once they settle', async () => {
  const name = slotName('pending');
  for (let round = 0; round < 20; round++) {
    const slot = Mailslot.create(name);
    const pending = [slot.receive(), slot.receive({ timeout: 60_000 })];
    await new Promise((resolve) => setImmediate(resolve));
    slot.close();
    const results = await Promise.allSettled(pending);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'fulfilled'))).toEqual([
      'ERR_IPC_CLOSED',
      'ERR_IPC_CLOSED',
    ]);
    // The slot's handle is closed: the name can be made again in this round's next turn.
  }
  Mailslot.create(name).close();
});

test('a process that exits with a receive pending and its slot open: the name is gone with it', async () => {
  const name = slotName('exit');
  const result = await runNode('mailslot-peer.js', ['hold', name, 'unref']);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('ready');
  expect(thrown(() => Mailslot.send(name, 'x'))).toMatchObject({ code: 'ENOENT' });
});

test('the classes are made only by their factories: ERR_ILLEGAL_CONSTRUCTOR', () => {
  const Slot = Mailslot as unknown as new (...args: unknown[]) => unknown;
  const Writer = MailslotWriter as unknown as new (...args: unknown[]) => unknown;
  expect(thrown(() => new Slot()).code).toBe('ERR_ILLEGAL_CONSTRUCTOR');
  expect(thrown(() => new Writer(Symbol('x'), {}, {})).code).toBe('ERR_ILLEGAL_CONSTRUCTOR');
});

// Channel.open on objects that are not channels (garbage, a wrong magic, version or header field,
// a size that disagrees with the header, too small): refused with the right code by Node and by
// C, and not one byte of the object changes. Roles: a live holder in another process (C or Node)
// or another handle in this process is refused with ERR_IPC_CHANNEL_BUSY; a killed holder's role
// can be taken.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Channel, ErrorCodes, SharedMemory } from '../../lib';
import { cPeer, finish, receiveAll, startPeer, Verifier, type Language } from '../channel-peers';
import { kill, run, shmNames, thrown } from '../helpers';

const newName = shmNames('channel-open');
const file = (name: string) => path.join('/dev/shm', name.slice(1));
const CAPACITY = 4096;
const EINVAL = -22;
const EPROTO = -71;
const EBUSY = -16;

beforeAll(() => {
  cPeer();
});

/** A valid version-1 header for `capacity`, written by hand. */
function header(capacity = CAPACITY): Buffer {
  const h = Buffer.alloc(256);
  h.writeUInt32LE(0x524b5049, 0);
  h.writeUInt32LE(1, 4);
  h.writeUInt32LE(256, 8);
  h.writeUInt32LE(0, 12);
  h.writeUInt32LE(capacity, 16);
  h.writeUInt32LE(capacity / 2 - 8, 20);
  h.writeUInt32LE(12345, 32);
  return h;
}

/** Makes a shared-memory object of `size` bytes starting with `bytes` (the rest a pattern, not zeros). */
function plant(name: string, size: number, bytes: Buffer): void {
  using shm = SharedMemory.create(name, { size });
  for (let i = 0; i < size; i++) shm.buffer[i] = (i * 13 + 7) & 0xff;
  shm.buffer.set(bytes.subarray(0, Math.min(size, bytes.length)));
}

const edited = (edit: (h: Buffer) => void, capacity = CAPACITY): Buffer => {
  const h = header(capacity);
  edit(h);
  return h;
};

const garbage = Buffer.alloc(256 + CAPACITY);
for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 197 + (i >> 3) * 31 + 91) & 0xff;

const cases: [string, number, Buffer, string, number][] = [
  ['garbage', 256 + CAPACITY, garbage, ErrorCodes.INVALID_OBJECT, EINVAL],
  ['zeros (a header not written yet, or never)', 256 + CAPACITY, Buffer.alloc(256), ErrorCodes.INVALID_OBJECT, EINVAL],
  ['a wrong magic', 256 + CAPACITY, edited((h) => h.writeUInt32LE(0x524b5048, 0)), ErrorCodes.INVALID_OBJECT, EINVAL],
  ['the magic byte-swapped', 256 + CAPACITY, edited((h) => h.writeUInt32BE(0x524b5049, 0)), ErrorCodes.INVALID_OBJECT, EINVAL],
  ['version 2', 256 + CAPACITY, edited((h) => h.writeUInt32LE(2, 4)), ErrorCodes.UNSUPPORTED_VERSION, EPROTO],
  ['version 0', 256 + CAPACITY, edited((h) => h.writeUInt32LE(0, 4)), ErrorCodes.UNSUPPORTED_VERSION, EPROTO],
  ['header_size 128', 256 + CAPACITY, edited((h) => h.writeUInt32LE(128, 8)), ErrorCodes.INVALID_OBJECT, EINVAL],
  ['an unknown flag', 256 + CAPACITY, edited((h) => h.writeUInt32LE(1, 12)), ErrorCodes.INVALID_OBJECT, EINVAL],
  ['a capacity that is not a power of two', 256 + 3000, edited((h) => h.writeUInt32LE(3000, 16)), ErrorCodes.INVALID_OBJECT, EINVAL],
  ['a capacity below 1 KiB', 256 + 512, header(512), ErrorCodes.INVALID_OBJECT, EINVAL],
  [
    'a max_message that disagrees with the capacity',
    256 + CAPACITY,
    edited((h) => h.writeUInt32LE(CAPACITY / 2, 20)),
    ErrorCodes.INVALID_OBJECT,
    EINVAL,
  ],
  ['a size larger than the header says', 256 + 2 * CAPACITY, header(), ErrorCodes.INVALID_OBJECT, EINVAL],
  ['a size smaller than the header says', 256 + CAPACITY / 2, header(), ErrorCodes.INVALID_OBJECT, EINVAL],
  ['a size one byte short', 256 + CAPACITY - 1, header(), ErrorCodes.INVALID_OBJECT, EINVAL],
  ['too small for a header (255 bytes)', 255, header(), ErrorCodes.INVALID_OBJECT, EINVAL],
  ['too small for a header (8 bytes)', 8, header(), ErrorCodes.INVALID_OBJECT, EINVAL],
];

describe('opening an object that is not a channel', () => {
  test.each(cases)('%s: Node refuses it and leaves every byte', (_what, size, bytes, code) => {
    const name = newName();
    plant(name, size, bytes);
    const before = fs.readFileSync(file(name));
    expect(before.length).toBe(size);
    for (const options of [undefined, { role: 'producer' as const }, { role: 'consumer' as const }]) {
      const error = thrown(() => Channel.open(name, options));
      expect(error.code).toBe(code);
    }
    expect(fs.readFileSync(file(name)).equals(before)).toBe(true);
  });

  test.each(cases)('%s: C refuses it and leaves every byte', async (_what, size, bytes, _code, rc) => {
    const name = newName();
    plant(name, size, bytes);
    const before = fs.readFileSync(file(name));
    for (const role of ['producer', 'consumer']) {
      const result = await run(cPeer(), ['hold', name, role]);
      expect(result).toMatchObject({ code: 1, stdout: `{"error":${rc}}\n` });
    }
    expect(fs.readFileSync(file(name)).equals(before)).toBe(true);
  });

  test('the hand-written header is a channel: the same bytes with nothing edited open (the refusals above are about the edits)', () => {
    const name = newName();
    plant(name, 256 + CAPACITY, header());
    // The ring's bytes are a pattern and tail = head = 0: an empty channel.
    const shm = SharedMemory.open(name);
    shm.buffer.fill(0, 64, 256);
    shm.close();
    using ch = Channel.open(name, { role: 'consumer' });
    expect(ch.capacity).toBe(CAPACITY);
    expect(ch.tryReceive()).toBeNull();
  });
});

describe.each(['C', 'Node'] as const)('a role held by a live %s process', (language: Language) => {
  test.each(['producer', 'consumer'] as const)(
    'the %s role is refused with ERR_IPC_CHANNEL_BUSY (error.pid); after a kill -9 it can be taken',
    async (role) => {
      const name = newName();
      Channel.create(name, { capacity: CAPACITY }).close();
      const holder = await startPeer(language, ['hold', name, role]);
      try {
        const error = thrown(() => Channel.open(name, { role }));
        expect(error).toMatchObject({ code: ErrorCodes.CHANNEL_BUSY, pid: holder.pid });
        // Without a role at open, the first call of that side claims it, and is refused the same way.
        using lazy = Channel.open(name);
        if (role === 'producer') {
          expect(thrown(() => lazy.trySend(Buffer.from('x')))).toMatchObject({ code: ErrorCodes.CHANNEL_BUSY, pid: holder.pid });
          await expect(lazy.send(Buffer.from('x'))).rejects.toMatchObject({ code: ErrorCodes.CHANNEL_BUSY });
        } else {
          expect(thrown(() => lazy.tryReceive())).toMatchObject({ code: ErrorCodes.CHANNEL_BUSY, pid: holder.pid });
          await expect(lazy.receive()).rejects.toMatchObject({ code: ErrorCodes.CHANNEL_BUSY });
        }
        expect(lazy.role).toBeNull();
        expect(lazy.stateOf(role)).toBe('attached');
        // The other role is free.
        using other = Channel.open(name, { role: role === 'producer' ? 'consumer' : 'producer' });
        expect(other.peer).toBe('attached');
        // And a second process of another language is refused too.
        const other2 = await run(cPeer(), ['hold', name, role]);
        expect(other2).toMatchObject({ code: 1, stdout: `{"error":${EBUSY}}\n` });
      } finally {
        await kill(holder.child, 'SIGKILL');
      }
      using successor = Channel.open(name, { role });
      expect(successor.role).toBe(role);
      using look = SharedMemory.open(name);
      expect(look.buffer.readUInt32LE(role === 'producer' ? 24 : 28)).toBe(process.pid);
    },
    60_000,
  );

  test('a role given up by close() (SIGTERM here) can be taken, and the peer saw it closed', async () => {
    const name = newName();
    using ch = Channel.create(name, { capacity: CAPACITY, role: 'consumer' });
    const holder = await startPeer(language, ['hold', name, 'producer']);
    expect(ch.peer).toBe('attached');
    holder.child.kill('SIGTERM');
    expect((await holder.done).stdout).toBe('ready\nclosed\n');
    expect(ch.peer).toBe('closed');
    const next = await startPeer(language, ['send', name, '10', '1', '0']);
    const received = await receiveAll(ch, new Verifier());
    const sent = await finish(next);
    expect(sent).toMatchObject({ sent: 10, exit: 0 });
    expect(received).toMatchObject({ count: 10, errors: 0, checksum: sent.checksum, peer: 'closed' });
  }, 60_000);
});

describe('this process as the holder', () => {
  test('C and node children are refused the role this process holds, with this pid', async () => {
    const name = newName();
    using ch = Channel.create(name, { capacity: CAPACITY, role: 'producer' });
    expect(await run(cPeer(), ['hold', name, 'producer'])).toMatchObject({ code: 1, stdout: `{"error":${EBUSY}}\n` });
    const node = await startPeer('Node', ['hold', name, 'producer']).catch((error: Error) => error);
    expect(node).toBeInstanceOf(Error);
    expect(String(node)).toContain(`{"error":"ERR_IPC_CHANNEL_BUSY","pid":${process.pid}}`);
    ch.close();
    // Closed: a child takes it now.
    const holder = await startPeer('C', ['hold', name, 'producer']);
    await kill(holder.child);
  }, 60_000);

  test('in one process a second handle claiming a held role is refused, whichever way it claims', async () => {
    const name = newName();
    using first = Channel.create(name, { capacity: CAPACITY });
    expect(first.trySend(Buffer.from('a'))).toBe(true); // claims producer by use
    expect(first.tryReceive()?.toString()).toBe('a'); // and consumer
    expect(first.role).toBe('both');
    using second = Channel.open(name);
    for (const role of ['producer', 'consumer'] as const) {
      expect(thrown(() => Channel.open(name, { role }))).toMatchObject({ code: ErrorCodes.CHANNEL_BUSY, pid: process.pid });
    }
    expect(thrown(() => second.trySend(Buffer.from('b')))).toMatchObject({ code: ErrorCodes.CHANNEL_BUSY });
    expect(thrown(() => second.tryReceive())).toMatchObject({ code: ErrorCodes.CHANNEL_BUSY });
    expect(thrown(() => second.receiveSync({ timeout: 0 }))).toMatchObject({ code: ErrorCodes.CHANNEL_BUSY });
    expect(second.role).toBeNull();
    first.close();
    expect(second.trySend(Buffer.from('c'))).toBe(true);
    expect(second.tryReceive()?.toString()).toBe('c');
  });
});

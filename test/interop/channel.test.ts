// Channel traffic between processes and languages: Node and C (ipckit/channel.h), Node and Python
// (ctypes over the same header), Node and Node. Every message carries its sequence number, bytes
// derived from it and a checksum (test/fixtures/channel-format.js); the receiver checks each one
// and both ends report a running checksum over the whole stream, which must agree.
import { Channel, ErrorCodes } from '../../lib';
import { cPeer, finish, lastJson, receiveAll, Sender, sendAll, startPeer, Verifier, wrapsFor } from '../channel-peers';
import { run, shmNames } from '../helpers';

const newName = shmNames('channel-interop');
const MILLION = 1_000_000;
const SMALL_RING = 4096; // maxMessageSize 2040: a record of most sizes does not fit before the end

function expectSameStream(sent: Record<string, unknown>, received: Record<string, unknown>, count: number): void {
  expect(sent).toMatchObject({ sent: count });
  expect(received).toMatchObject({ count, errors: 0, checksum: sent.checksum, bytes: sent.bytes });
}

beforeAll(() => {
  cPeer();
});

describe('Node and C', () => {
  test('a C-created channel: this process sends 100k messages up to maxMessageSize through a 4 KiB ring; C verifies each', async () => {
    const name = newName();
    const receiver = await startPeer('C', ['create-receive', name, String(SMALL_RING)]);
    using ch = Channel.open(name, { role: 'producer' });
    expect(ch.capacity).toBe(SMALL_RING);
    expect(ch.maxMessageSize).toBe(2040);
    const count = 100_000;
    const shape = wrapsFor(ch.capacity, 11, ch.maxMessageSize, count);
    expect(shape.wraps).toBeGreaterThan(10_000); // records that pad to the ring's end and start again at 0
    expect(shape.atMax).toBeGreaterThan(5_000); // messages of exactly maxMessageSize
    const sender = new Sender(11, ch.maxMessageSize);
    await sendAll(ch, sender, count);
    ch.close();
    const report = await finish(receiver);
    expectSameStream(sender.report(), report, count);
    expect(report).toMatchObject({ peer: 'closed', exit: 0 });
  }, 120_000);

  test('one million messages from a C producer to this process, through a 4 KiB ring', async () => {
    const name = newName();
    using ch = Channel.create(name, { capacity: SMALL_RING, role: 'consumer' });
    const producer = await startPeer('C', ['send', name, String(MILLION), '21', '200']);
    const received = await receiveAll(ch, new Verifier());
    const sent = await finish(producer);
    expect(sent.exit).toBe(0);
    expect(received.firstError).toBeNull();
    expectSameStream(sent, received, MILLION);
    expect(received.peer).toBe('closed');
  }, 120_000);

  test('one million messages from a node child to a C consumer', async () => {
    const name = newName();
    Channel.create(name, { capacity: SMALL_RING }).close();
    const receiver = await startPeer('C', ['receive', name]);
    const producer = await startPeer('Node', ['send', name, String(MILLION), '22', '200']);
    const sent = await finish(producer);
    const received = await finish(receiver);
    expect(sent.exit).toBe(0);
    expectSameStream(sent, received, MILLION);
    expect(received).toMatchObject({ peer: 'closed', exit: 0, firstError: '' });
  }, 120_000);

  test('C sends messages up to maxMessageSize to a node child', async () => {
    const name = newName();
    Channel.create(name, { capacity: SMALL_RING }).close();
    const receiver = await startPeer('Node', ['receive', name]);
    const producer = await startPeer('C', ['send', name, '100000', '23', '0']);
    const sent = await finish(producer);
    const received = await finish(receiver);
    expectSameStream(sent, received, 100_000);
    expect(received).toMatchObject({ peer: 'closed', exit: 0, firstError: null });
  }, 120_000);

  test('maxMessageSize + 1 fails with ERR_IPC_MESSAGE_TOO_LARGE mid-stream, writes nothing, and C receives the next good message', async () => {
    const name = newName();
    const receiver = await startPeer('C', ['create-receive', name, String(SMALL_RING)]);
    using ch = Channel.open(name, { role: 'producer' });
    const sender = new Sender(31, ch.maxMessageSize);
    const tooLarge = Buffer.alloc(ch.maxMessageSize + 1, 0xee);
    for (let round = 0; round < 50; round++) {
      await sendAll(ch, sender, 97);
      const pending = ch.pendingBytes;
      expect(() => ch.trySend(tooLarge)).toThrow(expect.objectContaining({ code: ErrorCodes.MESSAGE_TOO_LARGE }));
      await expect(ch.send(tooLarge)).rejects.toMatchObject({ code: ErrorCodes.MESSAGE_TOO_LARGE });
      await expect(ch.sendBatch([Buffer.alloc(1), tooLarge])).rejects.toMatchObject({ code: ErrorCodes.MESSAGE_TOO_LARGE });
      expect(() => ch.sendSync(tooLarge)).toThrow(expect.objectContaining({ code: ErrorCodes.MESSAGE_TOO_LARGE }));
      // The consumer may have taken some meanwhile, never more was published.
      expect(ch.pendingBytes).toBeLessThanOrEqual(pending);
    }
    ch.close();
    const report = await finish(receiver);
    // Every message the C side saw was the next in sequence: none of the refused ones (nor the
    // 1-byte message batched with one) reached the ring.
    expectSameStream(sender.report(), report, 50 * 97);
    expect(report).toMatchObject({ exit: 0, peer: 'closed' });
  }, 120_000);

  test('C refuses max_message + 1 with -EMSGSIZE (try_send and send) and writes nothing', async () => {
    const name = newName();
    using ch = Channel.create(name, { capacity: SMALL_RING, role: 'consumer' });
    const result = lastJson(await run(cPeer(), ['too-large', name]));
    expect(result).toMatchObject({ trySend: -90, send: -90 });
    expect(ch.pendingBytes).toBe(0);
    expect(ch.tryReceive()).toBeNull();
    await expect(ch.receive()).rejects.toMatchObject({ code: ErrorCodes.PEER_CLOSED, peer: 'closed' });
  }, 60_000);

  test('round trips: this process sends, C echoes on a second channel, every message comes back whole and in order', async () => {
    const there = newName();
    const back = newName();
    using out = Channel.create(there, { capacity: 8192, role: 'producer' });
    using into = Channel.create(back, { capacity: 8192, role: 'consumer' });
    const echo = await startPeer('C', ['echo', there, back]);
    const count = 50_000;
    const sender = new Sender(41, out.maxMessageSize);
    const receiving = receiveAll(into, new Verifier());
    await sendAll(out, sender, count);
    out.close();
    const received = await receiving;
    expect(await finish(echo)).toMatchObject({ echoed: count, exit: 0 });
    expectSameStream(sender.report(), received, count);
    expect(received.peer).toBe('closed');
  }, 120_000);
});

describe('Node and Node', () => {
  test('one million messages between two node children through a 4 KiB ring', async () => {
    const name = newName();
    Channel.create(name, { capacity: SMALL_RING }).close();
    const receiver = await startPeer('Node', ['receive', name]);
    const producer = await startPeer('Node', ['send', name, String(MILLION), '51', '200']);
    const sent = await finish(producer);
    const received = await finish(receiver);
    expect(sent.exit).toBe(0);
    expectSameStream(sent, received, MILLION);
    expect(received).toMatchObject({ peer: 'closed', exit: 0, firstError: null });
  }, 120_000);

  test('this process sends messages up to maxMessageSize to a node child', async () => {
    const name = newName();
    using ch = Channel.create(name, { capacity: SMALL_RING, role: 'producer' });
    const receiver = await startPeer('Node', ['receive', name]);
    const sender = new Sender(52, ch.maxMessageSize);
    await sendAll(ch, sender, 100_000);
    ch.close();
    const received = await finish(receiver);
    expectSameStream(sender.report(), received, 100_000);
    expect(received).toMatchObject({ peer: 'closed', exit: 0 });
  }, 120_000);

  test('a node child sends messages up to maxMessageSize to this process', async () => {
    const name = newName();
    using ch = Channel.create(name, { capacity: SMALL_RING, role: 'consumer' });
    const producer = await startPeer('Node', ['send', name, '100000', '53', '0']);
    const received = await receiveAll(ch, new Verifier());
    const sent = await finish(producer);
    expect(received.firstError).toBeNull();
    expectSameStream(sent, received, 100_000);
    expect(received.peer).toBe('closed');
  }, 120_000);

  test('round trips through a node echo child', async () => {
    const there = newName();
    const back = newName();
    using out = Channel.create(there, { capacity: 8192, role: 'producer' });
    using into = Channel.create(back, { capacity: 8192, role: 'consumer' });
    const echo = await startPeer('Node', ['echo', there, back]);
    const count = 50_000;
    const sender = new Sender(54, out.maxMessageSize);
    const receiving = receiveAll(into, new Verifier());
    await sendAll(out, sender, count);
    out.close();
    const received = await receiving;
    expect(await finish(echo)).toMatchObject({ echoed: count, exit: 0 });
    expectSameStream(sender.report(), received, count);
  }, 120_000);
});

describe('Node and Python (ctypes over ipckit/channel.h)', () => {
  // Python checks every byte in the interpreter: a few thousand messages, still of every size.
  const COUNT = 3000;

  test('a Python-created channel: this process sends messages up to maxMessageSize; Python verifies each', async () => {
    const name = newName();
    const receiver = await startPeer('Python', ['create-receive', name, String(SMALL_RING)]);
    using ch = Channel.open(name, { role: 'producer' });
    const sender = new Sender(61, ch.maxMessageSize);
    await sendAll(ch, sender, COUNT);
    ch.close();
    const report = await finish(receiver);
    expectSameStream(sender.report(), report, COUNT);
    expect(report).toMatchObject({ peer: 'closed', exit: 0 });
  }, 120_000);

  test('Python sends messages up to maxMessageSize to this process', async () => {
    const name = newName();
    using ch = Channel.create(name, { capacity: SMALL_RING, role: 'consumer' });
    const producer = await startPeer('Python', ['send', name, String(COUNT), '62', '0']);
    const received = await receiveAll(ch, new Verifier());
    const sent = await finish(producer);
    expect(received.firstError).toBeNull();
    expectSameStream(sent, received, COUNT);
    expect(received.peer).toBe('closed');
  }, 120_000);

  test('Python and C: a C producer, a Python consumer', async () => {
    const name = newName();
    Channel.create(name, { capacity: SMALL_RING }).close();
    const receiver = await startPeer('Python', ['receive', name]);
    const producer = await startPeer('C', ['send', name, String(COUNT), '63', '0']);
    const sent = await finish(producer);
    const received = await finish(receiver);
    expectSameStream(sent, received, COUNT);
    expect(received).toMatchObject({ peer: 'closed', exit: 0 });
  }, 120_000);
});

describe('the checks can fail', () => {
  test('a message altered in the ring is reported by the C, Python and Node verifiers', async () => {
    // A producer that writes one wrong byte: this process, by hand, after a good message.
    for (const language of ['C', 'Python', 'Node'] as const) {
      const name = newName();
      Channel.create(name, { capacity: SMALL_RING }).close();
      const receiver = await startPeer(language, ['receive', name]);
      using ch = Channel.open(name, { role: 'producer' });
      const sender = new Sender(71, 100);
      await sendAll(ch, sender, 5);
      const bad = Buffer.from(sender.next());
      expect(bad.length).toBeGreaterThan(0);
      bad[bad.length >> 1] ^= 0x01;
      expect(ch.trySend(bad)).toBe(true);
      await sendAll(ch, sender, 5);
      ch.close();
      const report = await finish(receiver);
      expect(report).toMatchObject({ count: 11, errors: 1, exit: 1 });
    }
  }, 60_000);
});

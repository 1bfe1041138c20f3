// Channel between two processes, with the portable API only: futexes on Linux, and under the
// Windows suite a named auto-reset event per bell (native/win/channel_events.cc). Every message
// carries its sequence number and a checksum (test/fixtures/channel-format.js), checked on the
// other side.
import { Channel, ErrorCodes } from '../../lib';
import { binding } from '../../lib/binding';
import { finish, receiveAll, Sender, sendAll, startPeer, Verifier } from '../channel-peers';
import { eventually, kill, shmNames } from '../helpers';

const newName = shmNames('portable-channel');
const COUNT = 100_000;

test('the platform wakes channel peers: futexes on Linux, named events on Windows', () => {
  expect(process.platform === 'win32' ? binding.features.channelEvents : binding.features.sync).toBe(true);
});

test('100k checked messages each way between two processes (the peer echoes what it receives)', async () => {
  const there = newName();
  const back = newName();
  // Both are created here and held open while the peer uses them: on Windows a name goes with its last handle.
  using out = Channel.create(there, { capacity: 4096, role: 'producer' });
  using inbound = Channel.create(back, { capacity: 4096, role: 'consumer' });
  const echo = await startPeer('Node', ['echo', there, back]);
  const sender = new Sender(31, 300);
  const [, received] = await Promise.all([sendAll(out, sender, COUNT).then(() => out.close()), receiveAll(inbound, new Verifier())]);
  const report = await finish(echo);
  expect(report).toMatchObject({ echoed: COUNT, exit: 0 });
  const sent = sender.report();
  expect(received).toMatchObject({ count: COUNT, errors: 0, checksum: sent.checksum, bytes: sent.bytes, peer: 'closed' });
}, 300_000);

test('a receive that sleeps on an empty ring is woken by the other process sending', async () => {
  const name = newName();
  using ch = Channel.create(name, { capacity: 4096, role: 'consumer' });
  const pending = ch.receive();
  let settled = false;
  void pending.then(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(settled).toBe(false);
  const producer = await startPeer('Node', ['send', name, '1', '7', '100']);
  const message = await pending;
  const verifier = new Verifier();
  expect(verifier.check(message)).toBeNull();
  expect((await finish(producer)).exit).toBe(0);
});

test('receiveSync blocks this thread until the other process sends', async () => {
  const name = newName();
  using ch = Channel.create(name, { capacity: 4096, role: 'consumer' });
  const producer = await startPeer('Node', ['send', name, '3', '8', '100']);
  const verifier = new Verifier();
  for (let i = 0; i < 3; i++) expect(verifier.check(ch.receiveSync({ timeout: 60_000 }))).toBeNull();
  expect((await finish(producer)).exit).toBe(0);
  expect(() => ch.receiveSync({ timeout: 0 })).toThrow(expect.objectContaining({ code: ErrorCodes.PEER_CLOSED }));
});

test('closing the producer while the consumer in another process waits: it sees ERR_IPC_PEER_CLOSED after the last message', async () => {
  const name = newName();
  const ch = Channel.create(name, { capacity: 4096, role: 'producer' });
  const consumer = await startPeer('Node', ['receive', name]);
  const sender = new Sender(41, 200);
  await sendAll(ch, sender, 1000);
  // Everything received: the consumer is (or is about to be) asleep on its bell.
  await eventually('the consumer drained the ring', () => ch.pendingBytes === 0);
  ch.close();
  const report = await finish(consumer);
  expect(report).toMatchObject({ count: 1000, errors: 0, checksum: sender.report().checksum, peer: 'closed', exit: 0 });
});

test('a producer process killed while this consumer waits: ERR_IPC_PEER_CLOSED with peer "gone"', async () => {
  const name = newName();
  using ch = Channel.create(name, { capacity: 4096, role: 'consumer' });
  const holder = await startPeer('Node', ['hold', name, 'producer']);
  expect(ch.peer).toBe('attached');
  const pending = ch.receive();
  let settled = false;
  void pending.catch(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(settled).toBe(false);
  await kill(holder.child);
  await expect(pending).rejects.toMatchObject({ code: ErrorCodes.PEER_CLOSED, peer: 'gone' });
  expect(ch.peer).toBe('gone');
});

test('close() of a handle with a sleeping receive settles it with ERR_IPC_CLOSED, and the peer sees "closed"', async () => {
  const name = newName();
  const ch = Channel.create(name, { capacity: 4096, role: 'consumer' });
  using other = Channel.open(name, { role: 'producer' });
  const pending = ch.receive();
  await new Promise((resolve) => setTimeout(resolve, 50));
  ch.close();
  await expect(pending).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  expect(other.peer).toBe('closed');
  // The ring still takes what fits; a send that would wait for room learns the consumer is gone.
  expect(other.trySend(Buffer.alloc(2000))).toBe(true);
  expect(other.trySend(Buffer.alloc(2000))).toBe(true);
  await expect(other.send(Buffer.alloc(2000))).rejects.toMatchObject({ code: ErrorCodes.PEER_CLOSED });
});

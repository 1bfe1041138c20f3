// Channel ends that die or close while the other end streams or waits: kill -9 of a producer
// mid-stream (Node and C) and of a consumer holding a full ring; a successor takes the role and
// the stream goes on; close() on either side while the other one sleeps.
import * as path from 'node:path';
import { Channel, ErrorCodes } from '../../lib';
import { cPeer, finish, receiveAll, Sender, sendAll, startPeer, Verifier, type Language } from '../channel-peers';
import { callsOf, kill, shmNames, sleepingOn } from '../helpers';

const newName = shmNames('channel-crash');
const RING = 16384; // maxMessageSize 8184
const W_PRODUCER_BELL = 204;
const W_CONSUMER_BELL = 196;

const file = (name: string) => path.join('/dev/shm', name.slice(1));

function settledState(promise: Promise<unknown>): Promise<'pending' | 'settled'> {
  let state: 'pending' | 'settled' = 'pending';
  promise.then(
    () => (state = 'settled'),
    () => (state = 'settled'),
  );
  return new Promise((resolve) => setImmediate(() => resolve(state)));
}

/**
 * `promise`, or after 40 s (before jest's own timeout, which would say only "timeout") an error
 * that says what was being waited for and where each party stands, so that a hang in CI explains
 * itself. No timing is asserted: a settled promise passes however long it took.
 */
async function explained<T>(
  promise: Promise<T>,
  what: string,
  peer: { child: { exitCode: number | null; signalCode: string | null }; pid: number },
  ch: Channel,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const own = callsOf(process.pid).map((c) => `${c.tid}:${c.nr}`);
      const theirs = callsOf(peer.pid).map((c) => `${c.tid}:${c.nr}`);
      reject(
        new Error(
          `${what}: not settled after 40 s. Peer pid ${peer.pid} exit ${peer.child.exitCode ?? peer.child.signalCode ?? 'none yet'}, ` +
            `its blocked system calls [${theirs.join(' ')}]; this process's [${own.join(' ')}]; ` +
            `channel producer ${ch.stateOf('producer')}, consumer ${ch.stateOf('consumer')}`,
        ),
      );
    }, 40_000);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

beforeAll(() => {
  cPeer();
});

describe.each(['Node', 'C'] as const)('a %s producer killed with SIGKILL mid-stream', (language: Language) => {
  test('the consumer gets whole messages in sequence up to the kill, then ERR_IPC_PEER_CLOSED (gone); successors continue the stream', async () => {
    const name = newName();
    using ch = Channel.create(name, { capacity: RING, role: 'consumer' });
    const verifier = new Verifier();
    for (let round = 0; round < 3; round++) {
      // Large messages (up to maxMessageSize) so that the kill often lands inside a copy.
      const producer = await startPeer(language, ['send-forever', name, String(100 + round), '0', String(verifier.report().next)]);
      expect(ch.peer).toBe('attached');
      const before = verifier.report().count;
      const part = await receiveAll(ch, verifier, 2000 + round * 777);
      expect(part.count).toBe(before + 2000 + round * 777);
      await kill(producer.child, 'SIGKILL');
      // What it had published is still delivered, whole; then the end is reported as 'gone'.
      const rest = await receiveAll(ch, verifier);
      expect(rest.peer).toBe('gone');
      expect(rest.errors).toBe(0);
      expect(rest.firstError).toBeNull();
      expect(rest.next).toBe(rest.count); // no gap, no repeat: seq k was the k-th message
      expect(ch.peer).toBe('gone');
      expect(ch.stateOf('producer')).toBe('gone');
    }
    // A last producer that finishes: its stream follows on from the last message received.
    const start = verifier.report().next;
    const tail = new Verifier(start);
    const producer = await startPeer(language, ['send', name, '5000', '7', '0', String(start)]);
    const received = await receiveAll(ch, tail);
    const sent = await finish(producer);
    expect(received).toMatchObject({ count: 5000, errors: 0, checksum: sent.checksum, bytes: sent.bytes, peer: 'closed', next: start + 5000 });
  }, 120_000);

  test('for await over the channel ends after the killed producer’s last message', async () => {
    const name = newName();
    using ch = Channel.create(name, { capacity: RING, role: 'consumer' });
    const producer = await startPeer(language, ['send-forever', name, '9', '300']);
    const verifier = new Verifier();
    let killed: Promise<unknown> | undefined;
    for await (const msg of ch) {
      expect(verifier.check(msg)).toBeNull();
      if (verifier.report().count === 1000) killed = kill(producer.child, 'SIGKILL');
    }
    await killed;
    expect(verifier.report().count).toBeGreaterThanOrEqual(1000);
    expect(verifier.report().errors).toBe(0);
    expect(ch.peer).toBe('gone');
  }, 60_000);
});

describe.each(['Node', 'C'] as const)('a %s consumer killed with SIGKILL', (language: Language) => {
  test('the send waiting on a full ring rejects with ERR_IPC_PEER_CLOSED (gone); a new consumer receives what is in the ring', async () => {
    const name = newName();
    using ch = Channel.create(name, { capacity: RING, role: 'producer' });
    const holder = await startPeer(language, ['hold', name, 'consumer']);
    const sender = new Sender(5, 1000);
    let filled = 0;
    let msg = Buffer.from(sender.next());
    while (ch.trySend(msg)) {
      filled += 1;
      msg = Buffer.from(sender.next());
    }
    expect(filled).toBeGreaterThan(10);
    const pending = ch.send(msg);
    await sleepingOn(process.pid, file(name), W_PRODUCER_BELL);
    expect(await settledState(pending)).toBe('pending');
    await kill(holder.child, 'SIGKILL');
    await expect(pending).rejects.toMatchObject({ code: ErrorCodes.PEER_CLOSED, peer: 'gone' });
    expect(ch.peer).toBe('gone');
    // A successor consumer gets every message left in the ring, then the refused one, sent again
    // now that someone listens.
    const successor = await startPeer(language, ['receive', name]);
    expect(ch.peer).toBe('attached');
    await ch.send(msg);
    ch.close();
    const report = await finish(successor);
    expect(report).toMatchObject({ count: filled + 1, errors: 0, checksum: sender.report().checksum, peer: 'closed', exit: 0 });
  }, 60_000);
});

describe.each(['Node', 'C'] as const)('a %s consumer killed holding a record it did not release', (language: Language) => {
  test('its successor receives that record again, then the rest, in order', async () => {
    const name = newName();
    using ch = Channel.create(name, { capacity: RING, role: 'producer' });
    const sender = new Sender(12, 100);
    // Sizes up to 100 bytes: 40 messages fit in the ring, all sent before the consumer starts.
    await sendAll(ch, sender, 40);
    const holder = await startPeer(language, [language === 'C' ? 'peek-hold' : 'view-hold', name, '17']);
    const held = await holder.line('held ');
    await kill(holder.child, 'SIGKILL');
    // Message 17 was being looked at (its seq is in it when it has 8 bytes or more).
    expect(['held 17', 'held -1']).toContain(held);
    const successor = await startPeer(language, ['receive', name, '17']);
    ch.close();
    const report = await finish(successor);
    expect(report).toMatchObject({ count: 40 - 17, errors: 0, next: 40, peer: 'closed', exit: 0 });
  }, 60_000);
});

describe.each(['Node', 'C'] as const)('close() while the other end waits (a %s peer)', (language: Language) => {
  test('this consumer waits; the producer closes: ERR_IPC_PEER_CLOSED (closed)', async () => {
    const name = newName();
    using ch = Channel.create(name, { capacity: RING, role: 'consumer' });
    const holder = await startPeer(language, ['hold', name, 'producer']);
    const pending = ch.receive();
    await explained(sleepingOn(process.pid, file(name), W_CONSUMER_BELL), 'this process asleep on the consumer bell', holder, ch);
    expect(await settledState(pending)).toBe('pending');
    holder.child.kill('SIGTERM');
    await expect(explained(pending, 'the receive after SIGTERM to the producer', holder, ch)).rejects.toMatchObject({
      code: ErrorCodes.PEER_CLOSED,
      peer: 'closed',
    });
    expect((await explained(holder.done, 'the producer’s exit', holder, ch)).stdout).toBe('ready\nclosed\n');
    expect(ch.peer).toBe('closed');
  }, 60_000);

  test('this producer waits on a full ring; the consumer closes: ERR_IPC_PEER_CLOSED (closed)', async () => {
    const name = newName();
    using ch = Channel.create(name, { capacity: RING, role: 'producer' });
    const holder = await startPeer(language, ['hold', name, 'consumer']);
    const sender = new Sender(6, 2000);
    let msg = Buffer.from(sender.next());
    while (ch.trySend(msg)) msg = Buffer.from(sender.next());
    const pending = ch.send(msg);
    await explained(sleepingOn(process.pid, file(name), W_PRODUCER_BELL), 'this process asleep on the producer bell', holder, ch);
    expect(await settledState(pending)).toBe('pending');
    holder.child.kill('SIGTERM');
    await expect(explained(pending, 'the send after SIGTERM to the consumer', holder, ch)).rejects.toMatchObject({
      code: ErrorCodes.PEER_CLOSED,
      peer: 'closed',
    });
    expect((await explained(holder.done, 'the consumer’s exit', holder, ch)).stdout).toBe('ready\nclosed\n');
  }, 60_000);

  test('this end closes while its receive and its send wait: both settle with ERR_IPC_CLOSED; the peer sees closed', async () => {
    const a = newName();
    const b = newName();
    const consumer = Channel.create(a, { capacity: RING, role: 'consumer' });
    const producer = Channel.create(b, { capacity: RING, role: 'producer' });
    const holdsA = await startPeer(language, ['hold', a, 'producer']);
    const holdsB = await startPeer(language, ['hold', b, 'consumer']);
    try {
      const receiving = consumer.receive();
      const sender = new Sender(8, 2000);
      let msg = Buffer.from(sender.next());
      while (producer.trySend(msg)) msg = Buffer.from(sender.next());
      const sending = producer.send(msg);
      await sleepingOn(process.pid, file(a), W_CONSUMER_BELL);
      await sleepingOn(process.pid, file(b), W_PRODUCER_BELL);
      expect(await settledState(receiving)).toBe('pending');
      expect(await settledState(sending)).toBe('pending');
      consumer.close();
      producer.close();
      await expect(receiving).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
      await expect(sending).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
      using lookA = Channel.open(a);
      using lookB = Channel.open(b);
      expect(lookA.stateOf('consumer')).toBe('closed');
      expect(lookB.stateOf('producer')).toBe('closed');
    } finally {
      await kill(holdsA.child);
      await kill(holdsB.child);
    }
  }, 60_000);
});

describe('a C end waiting while this process closes', () => {
  test('C receive waiting on an empty ring returns -EPIPE (closed) when this producer closes', async () => {
    const name = newName();
    const ch = Channel.create(name, { capacity: RING, role: 'producer' });
    const receiver = await startPeer('C', ['receive', name]);
    await sleepingOn(receiver.pid, file(name), W_CONSUMER_BELL);
    ch.close();
    expect(await finish(receiver)).toMatchObject({ count: 0, errors: 0, peer: 'closed', rc: -32, exit: 0 });
  }, 60_000);

  test('C send waiting on a full ring returns -EPIPE when this consumer closes', async () => {
    const name = newName();
    const ch = Channel.create(name, { capacity: RING, role: 'consumer' });
    const producer = await startPeer('C', ['send-forever', name, '3', '0']);
    await sleepingOn(producer.pid, file(name), W_PRODUCER_BELL);
    const pendingBefore = ch.pendingBytes;
    expect(pendingBefore).toBeGreaterThan(RING / 2);
    ch.close();
    const report = await finish(producer);
    expect(report).toMatchObject({ error: -32, exit: 3 });
  }, 60_000);
});

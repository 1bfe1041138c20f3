// Channel: the JavaScript side's semantics, in one process (the ring is still a real shared-memory
// object, mapped once per handle) and against short-lived node peers. Cross-language traffic,
// crashes and hostile headers have their own files (test/interop/channel.test.ts,
// test/lifecycle/channel-crash.test.ts, test/kernel/channel-open.test.ts).
import { spawn } from 'node:child_process';
import { Channel, ErrorCodes, SharedMemory, wake } from '../../lib';
import { shmNames } from '../helpers';

const newName = shmNames('channel');
const dist = JSON.stringify(require.resolve('../../dist'));

function message(seq: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = (seq * 31 + i * 7) & 0xff;
  if (size >= 4) out.writeUInt32LE(seq >>> 0, 0);
  return out;
}

function settledState(promise: Promise<unknown>): Promise<'pending' | 'settled'> {
  let state: 'pending' | 'settled' = 'pending';
  promise.then(
    () => (state = 'settled'),
    () => (state = 'settled'),
  );
  return new Promise((resolve) => setImmediate(() => resolve(state)));
}

describe('Channel basics', () => {
  test('capacity rounds up to a power of two; maxMessageSize is half less 8; roles are taken by use', () => {
    const name = newName();
    const ch = Channel.create(name, { capacity: 3000 });
    expect(ch.capacity).toBe(4096);
    expect(ch.maxMessageSize).toBe(2040);
    expect(ch.name).toBe(name);
    expect(ch.role).toBeNull();
    expect(SharedMemory.open(name).size).toBe(256 + 4096);
    expect(ch.trySend(Buffer.from('a'))).toBe(true);
    expect(ch.role).toBe('producer');
    expect(ch.tryReceive()!.toString()).toBe('a');
    expect(ch.role).toBe('both');
    ch.close();
    expect(ch.closed).toBe(true);
    expect(() => ch.trySend(Buffer.from('x'))).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
    expect(Channel.create(newName(), { capacity: 1 }).capacity).toBe(1024);
  });

  test('bad options are refused with coded errors before anything is created', () => {
    const name = newName();
    expect(() => Channel.create(name, { capacity: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => Channel.create(name, { capacity: 2 ** 30 + 1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => Channel.create(name, { capacity: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => Channel.create(name, {} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => Channel.create(name, { capacity: 4096, role: 'reader' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => Channel.create(name, { capacity: 4096, spin: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => Channel.create('no/slash/allowed', { capacity: 4096 })).toThrow();
    expect(() => SharedMemory.open(name)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => Channel.open(name)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => new (Channel as unknown as new () => Channel)()).toThrow(expect.objectContaining({ code: 'ERR_ILLEGAL_CONSTRUCTOR' }));
  });

  test('messages of every size up to maxMessageSize arrive whole and in order across many wraps', () => {
    const ch = Channel.create(newName(), { capacity: 4096 });
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const inFlight: Buffer[] = [];
    let sent = 0;
    let received = 0;
    for (let round = 0; round < 20000; round++) {
      const size = round % 97 === 0 ? ch.maxMessageSize : random() % (ch.maxMessageSize + 1);
      const data = message(sent, size);
      if (ch.trySend(data)) {
        inFlight.push(data);
        sent++;
      }
      if (random() % 3 !== 0 || inFlight.length > 3) {
        const got = ch.tryReceive();
        if (got !== null) {
          expect(got.equals(inFlight.shift()!)).toBe(true);
          received++;
        }
      }
    }
    for (let got = ch.tryReceive(); got !== null; got = ch.tryReceive()) {
      expect(got.equals(inFlight.shift()!)).toBe(true);
      received++;
    }
    expect(inFlight).toHaveLength(0);
    expect(received).toBe(sent);
    expect(sent).toBeGreaterThan(10000);
    expect(ch.pendingBytes).toBe(0);
    ch.close();
  });

  test('a message larger than maxMessageSize fails with ERR_IPC_MESSAGE_TOO_LARGE and writes nothing', async () => {
    const ch = Channel.create(newName(), { capacity: 4096 });
    ch.trySend(Buffer.from('before'));
    const pending = ch.pendingBytes;
    const big = Buffer.alloc(ch.maxMessageSize + 1);
    const expected = expect.objectContaining({ code: ErrorCodes.MESSAGE_TOO_LARGE, limit: { name: 'maxMessageSize', value: 2040 } });
    expect(() => ch.trySend(big)).toThrow(expected);
    await expect(ch.send(big)).rejects.toEqual(expected);
    expect(() => ch.sendSync(big)).toThrow(expected);
    expect(() => ch.trySendBatch([Buffer.from('ok'), big])).toThrow(expected);
    await expect(ch.sendBatch([Buffer.from('ok'), big])).rejects.toEqual(expected);
    expect(ch.pendingBytes).toBe(pending);
    expect(ch.trySend(Buffer.alloc(ch.maxMessageSize, 9))).toBe(true);
    expect(ch.tryReceive()!.toString()).toBe('before');
    expect(ch.tryReceive()!.equals(Buffer.alloc(ch.maxMessageSize, 9))).toBe(true);
    expect(ch.tryReceive()).toBeNull();
    ch.close();
  });

  test('strings, typed arrays, DataViews, ArrayBuffers and empty messages are sent as their bytes', () => {
    const ch = Channel.create(newName(), { capacity: 4096 });
    const floats = new Float64Array([1.5, -2]);
    expect(ch.trySendBatch(['héllo', floats, new DataView(new ArrayBuffer(3)), new Uint8Array([1, 2]).buffer, Buffer.alloc(0), ''])).toBe(6);
    const got = ch.tryReceiveBatch(10);
    expect(got.map((b) => b.length)).toEqual([6, 16, 3, 2, 0, 0]);
    expect(got[0].toString()).toBe('héllo');
    expect(new Float64Array(got[1].buffer, got[1].byteOffset, 2)).toEqual(floats);
    expect(got.every((b) => Buffer.isBuffer(b))).toBe(true);
    expect(() => ch.trySend(42 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => ch.trySendBatch('abc' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    ch.close();
  });

  test('batches: trySendBatch sends what fits, tryReceiveBatch takes at most max', () => {
    const ch = Channel.create(newName(), { capacity: 1024 });
    const list = Array.from({ length: 40 }, (_, i) => message(i, 40));
    const n = ch.trySendBatch(list);
    expect(n).toBe(Math.floor(1024 / 48));
    expect(ch.trySend(list[n])).toBe(false);
    const first = ch.tryReceiveBatch(5);
    expect(first.map((b) => b.readUInt32LE(0))).toEqual([0, 1, 2, 3, 4]);
    const rest = ch.tryReceiveBatch(1000);
    expect(rest).toHaveLength(n - 5);
    expect(ch.tryReceiveBatch(3)).toEqual([]);
    expect(() => ch.tryReceiveBatch(0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    ch.close();
  });

  test('views are zero-copy, stay put until release(), and read as empty after close()', () => {
    const ch = Channel.create(newName(), { capacity: 1024 });
    expect(ch.trySendBatch([message(1, 300), message(2, 400)])).toBe(2);
    const a = ch.tryReceiveView()!;
    const b = ch.tryReceiveView()!;
    expect(ch.tryReceiveView()).toBeNull();
    expect(Buffer.isBuffer(a)).toBe(true);
    expect(a.equals(message(1, 300))).toBe(true);
    expect(b.equals(message(2, 400))).toBe(true);
    // Not released: the producer cannot reuse their room, and copies would skip them.
    expect(() => ch.tryReceive()).toThrow(expect.objectContaining({ code: ErrorCodes.CHANNEL_ROLE }));
    expect(ch.pendingBytes).toBe(720);
    expect(ch.trySend(Buffer.alloc(300))).toBe(false);
    ch.release();
    expect(ch.pendingBytes).toBe(0);
    expect(ch.trySend(message(3, 300))).toBe(true);
    // The view is into the ring itself: writes by the producer show through it once released.
    expect(ch.tryReceive()!.equals(message(3, 300))).toBe(true);
    const c = ch.tryReceiveView();
    expect(c).toBeNull();
    ch.trySend(message(4, 10));
    const d = ch.tryReceiveView()!;
    ch.close();
    expect(d.length).toBe(0);
    expect(a.length).toBe(0);
  });

  test('a second handle claiming a taken role is refused with ERR_IPC_CHANNEL_BUSY; after close() it can', () => {
    const name = newName();
    const producer = Channel.create(name, { capacity: 4096, role: 'producer' });
    expect(() => Channel.open(name, { role: 'producer' })).toThrow(expect.objectContaining({ code: ErrorCodes.CHANNEL_BUSY, pid: process.pid }));
    const other = Channel.open(name);
    expect(() => other.trySend(Buffer.from('x'))).toThrow(expect.objectContaining({ code: ErrorCodes.CHANNEL_BUSY }));
    expect(other.role).toBeNull();
    expect(other.stateOf('producer')).toBe('attached');
    expect(other.stateOf('consumer')).toBe('none');
    const consumer = Channel.open(name, { role: 'consumer' });
    expect(consumer.peer).toBe('attached');
    producer.close();
    expect(consumer.peer).toBe('closed');
    expect(other.trySend(Buffer.from('second producer'))).toBe(true);
    expect(consumer.peer).toBe('attached');
    expect(consumer.tryReceive()!.toString()).toBe('second producer');
    other.close();
    consumer.close();
  });
});

describe('Channel waits', () => {
  test('receive waits for a message; timeout, abort and close settle it with their codes', async () => {
    const ch = Channel.create(newName(), { capacity: 4096 });
    const waiting = ch.receive();
    expect(await settledState(waiting)).toBe('pending');
    ch.trySend(Buffer.from('hi'));
    expect((await waiting).toString()).toBe('hi');
    await expect(ch.receive({ timeout: 30 })).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
    await expect(ch.receive({ timeout: 0 })).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
    const controller = new AbortController();
    const aborted = ch.receive({ signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(aborted).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    await expect(ch.receive({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    // Nothing was consumed by the waits that failed.
    ch.trySend(Buffer.from('after'));
    const first = ch.receive();
    const second = ch.receiveView();
    const third = ch.receiveBatch(4).catch((error: unknown) => error);
    expect((await first).toString()).toBe('after');
    expect(await settledState(second)).toBe('pending');
    ch.close();
    await expect(second).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    expect(await third).toMatchObject({ code: ErrorCodes.CLOSED });
  });

  test('an abort that lands while a finished native wait has yet to report still ends the receive (fuzz seed 2291325194)', async () => {
    // The race the fuzzer found: the receive's native wait ends (here a spurious ring of the
    // consumer's bell through a second mapping of the ring; in the wild a liveness slice ending)
    // and, before its completion reaches JavaScript, the signal is aborted. Stopping the native
    // wait is then a no-op; the receive must still see the abort instead of sleeping again.
    const name = newName();
    const ch = Channel.create(name, { capacity: 4096, role: 'consumer' });
    const raw = SharedMemory.open(name);
    const words = raw.view(Int32Array, 0, 64);
    const W_CONSUMER_BELL = 49; // the consumer bell word (byte 196) of native/include/ipckit/channel.h
    const outcomes: unknown[] = [];
    for (const kind of ['receive', 'receiveView', 'receiveBatch'] as const) {
      const controller = new AbortController();
      const pending =
        kind === 'receive'
          ? ch.receive({ signal: controller.signal })
          : kind === 'receiveView'
            ? ch.receiveView({ signal: controller.signal })
            : ch.receiveBatch(4, { signal: controller.signal });
      const outcome = pending.then(
        () => 'resolved',
        (error: { code?: string }) => error.code,
      );
      // Let the wait reach a waiter thread.
      await new Promise((resolve) => setTimeout(resolve, 20));
      Atomics.add(words, W_CONSUMER_BELL, 1);
      expect(wake(words, W_CONSUMER_BELL)).toBe(1);
      // Hold the event loop so that the waiter thread's completion is queued behind the abort.
      const until = Date.now() + 30;
      while (Date.now() < until);
      controller.abort();
      const later = new Promise((resolve) => setTimeout(() => resolve(`${kind} still pending`), 2000));
      const first = await Promise.race([outcome, later]);
      outcomes.push(first);
      if (first !== ErrorCodes.ABORTED) {
        ch.close(); // settles the stuck wait so that the failure below is reported
        await outcome;
        break;
      }
    }
    expect(outcomes).toEqual([ErrorCodes.ABORTED, ErrorCodes.ABORTED, ErrorCodes.ABORTED]);
    // Nothing was lost: the ring still works for the next receive.
    const producer = Channel.open(name, { role: 'producer' });
    producer.trySend(Buffer.from('after'));
    expect((await ch.receive({ timeout: 2000 })).toString()).toBe('after');
    // The same race on the producer's side: a send waiting for room.
    let filled = 0;
    while (producer.trySend(Buffer.alloc(100, 1))) filled++;
    const controller = new AbortController();
    const send = producer.send(Buffer.alloc(100, 2), { signal: controller.signal }).then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    const W_PRODUCER_BELL = 51; // byte 204
    Atomics.add(words, W_PRODUCER_BELL, 1);
    expect(wake(words, W_PRODUCER_BELL)).toBe(1);
    const until = Date.now() + 30;
    while (Date.now() < until);
    controller.abort();
    const sent = await Promise.race([send, new Promise((resolve) => setTimeout(() => resolve('send still pending'), 2000))]);
    if (sent !== ErrorCodes.ABORTED) producer.close();
    expect(sent).toBe(ErrorCodes.ABORTED);
    expect(ch.tryReceiveBatch(1000)).toHaveLength(filled);
    producer.close();
    raw.close();
    ch.close();
  });

  test('no JavaScript timer runs while a receive with a timeout waits in the addon', async () => {
    const ch = Channel.create(newName(), { capacity: 4096 });
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    const waiting = ch.receive({ timeout: 60000 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(timers()).toBe(before);
    ch.trySend(Buffer.from('x'));
    await waiting;
    ch.close();
  });

  test('send waits for room; queued sends keep their order; trySend does not overtake them', async () => {
    const ch = Channel.create(newName(), { capacity: 1024 });
    while (ch.trySend(Buffer.alloc(100, 0xee)));
    const a = ch.send(message(1, 50));
    const b = ch.sendBatch([message(2, 60), message(3, 70)]);
    const c = ch.send(message(4, 80));
    expect(await settledState(a)).toBe('pending');
    expect(ch.trySend(Buffer.from('x'))).toBe(false);
    expect(ch.trySendBatch([Buffer.from('x')])).toBe(0);
    const got: number[] = [];
    const drain = async () => {
      for (;;) {
        const m = await ch.receive({ timeout: 2000 });
        if (m[0] !== 0xee) got.push(m.readUInt32LE(0));
        if (got.length === 4) return;
      }
    };
    await Promise.all([a, b, c, drain()]);
    expect(got).toEqual([1, 2, 3, 4]);
    ch.close();
  });

  test('a send that times out part way reports how many messages it sent', async () => {
    const ch = Channel.create(newName(), { capacity: 1024 });
    const list = Array.from({ length: 30 }, (_, i) => message(i, 56));
    const error = await ch.sendBatch(list, { timeout: 30 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.TIMEOUT, sent: 16 });
    const controller = new AbortController();
    const aborted = ch.send(Buffer.alloc(10), { signal: controller.signal });
    const queued = ch.send(Buffer.alloc(10), { timeout: 20 });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    await expect(queued).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
    expect(ch.tryReceiveBatch(100)).toHaveLength(16);
    ch.close();
  });

  test('the consumer drains what a closed producer sent, then gets ERR_IPC_PEER_CLOSED; for await ends', async () => {
    const name = newName();
    const consumer = Channel.create(name, { capacity: 4096, role: 'consumer' });
    const producer = Channel.open(name, { role: 'producer' });
    await producer.sendBatch([Buffer.from('one'), Buffer.from('two')]);
    producer.close();
    expect(consumer.peer).toBe('closed');
    expect((await consumer.receive()).toString()).toBe('one');
    const rest: string[] = [];
    for await (const m of consumer) rest.push(m.toString());
    expect(rest).toEqual(['two']);
    await expect(consumer.receive()).rejects.toMatchObject({ code: ErrorCodes.PEER_CLOSED, peer: 'closed' });
    expect(() => consumer.receiveSync()).toThrow(expect.objectContaining({ code: ErrorCodes.PEER_CLOSED }));
    consumer.close();
  });

  test('a producer closing while the consumer sleeps wakes it at once', async () => {
    const name = newName();
    const consumer = Channel.create(name, { capacity: 4096, role: 'consumer' });
    const producer = Channel.open(name, { role: 'producer' });
    const waiting = consumer.receive();
    expect(await settledState(waiting)).toBe('pending');
    producer.close();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCodes.PEER_CLOSED });
    consumer.close();
  });

  test('a consumer closing while the producer waits for room settles the send with ERR_IPC_PEER_CLOSED', async () => {
    const name = newName();
    const producer = Channel.create(name, { capacity: 1024, role: 'producer' });
    const consumer = Channel.open(name, { role: 'consumer' });
    while (producer.trySend(Buffer.alloc(200)));
    const waiting = producer.send(Buffer.alloc(200));
    expect(await settledState(waiting)).toBe('pending');
    consumer.close();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCodes.PEER_CLOSED, peer: 'closed' });
    producer.close();
  });

  test('sendSync and receiveSync block a worker-like script; a node peer streams to them', async () => {
    const name = newName();
    const consumer = Channel.create(name, { capacity: 8192, role: 'consumer' });
    const script = `const { Channel } = require(${dist});
      const ch = Channel.open(process.argv[1], { role: 'producer' });
      for (let i = 0; i < 20000; i++) { const b = Buffer.alloc(8 + (i % 300)); b.writeUInt32LE(i, 0); ch.sendSync(b); }
      ch.close();`;
    const child = spawn(process.execPath, ['-e', script, name], { stdio: 'inherit' });
    let n = 0;
    for (;;) {
      let m: Buffer;
      try {
        m = consumer.receiveSync({ timeout: 20000 });
      } catch (error) {
        expect(error).toMatchObject({ code: ErrorCodes.PEER_CLOSED });
        break;
      }
      expect(m.readUInt32LE(0)).toBe(n);
      expect(m.length).toBe(8 + (n % 300));
      n++;
    }
    expect(n).toBe(20000);
    await new Promise((resolve) => child.on('exit', resolve));
    consumer.close();
  });

  test('a receive of an unref()ed channel does not keep the process alive', async () => {
    const name = newName();
    const script = `const { Channel } = require(${dist});
      const ch = Channel.create(process.argv[1], { capacity: 4096 }).unref();
      ch.receive().then(() => console.log('received'), (e) => console.log(e.code));
      setTimeout(() => console.log('timer'), 50);`;
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['-e', script, name], { stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout }));
    });
    expect(out).toEqual({ code: 0, stdout: 'timer\n' });
  });
});

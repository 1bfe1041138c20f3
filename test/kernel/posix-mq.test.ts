// POSIX message queues against the kernel: semantics, kernel limits, waits on the event loop.
import * as fs from 'node:fs';
import { PosixMessageQueue, posixQueueLimits, ErrorCodes } from '../../lib';
import { isRoot, repoRoot, run, runAsNobody, stagePackage, thrown, uniqueName } from '../helpers';

const opened: PosixMessageQueue[] = [];
afterEach(() => {
  for (const queue of opened.splice(0)) {
    queue.close();
    try {
      queue.unlink();
    } catch {
      // already unlinked
    }
  }
});
function fresh(options?: Parameters<typeof PosixMessageQueue.create>[1]): PosixMessageQueue {
  const queue = PosixMessageQueue.create(uniqueName('pmq'), options);
  opened.push(queue);
  return queue;
}
const text = (m: { data: Buffer } | null) => m?.data.toString();
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error) => error as NodeJS.ErrnoException & { limit?: { name: string; value: number } },
  );

describe('create / open / openOrCreate / unlink', () => {
  test('create is exclusive with the attributes asked; open and openOrCreate find the same queue', () => {
    const q = fresh({ maxMessages: 5, messageSize: 256, mode: 0o640 });
    expect(q.created).toBe(true);
    expect(q.attributes).toEqual({ maxMessages: 5, messageSize: 256, currentMessages: 0 });
    expect(thrown(() => PosixMessageQueue.create(q.name))).toMatchObject({ code: 'EEXIST', syscall: 'mq_open', path: q.name });
    const again = PosixMessageQueue.open(q.name.slice(1));
    const either = PosixMessageQueue.openOrCreate(q.name, { maxMessages: 2 });
    opened.push(again, either);
    expect(either.created).toBe(false);
    q.trySend('shared');
    expect(again.attributes.currentMessages).toBe(1);
    expect(text(either.tryReceive())).toBe('shared');
  });

  test('defaults come from /proc/sys/fs/mqueue; mode is exact whatever the umask; missing names are ENOENT', () => {
    const limits = posixQueueLimits();
    const old = process.umask(0o077);
    try {
      const q = fresh({ mode: 0o660 });
      expect(q.attributes).toEqual({ maxMessages: limits.msgDefault, messageSize: limits.msgsizeDefault, currentMessages: 0 });
    } finally {
      process.umask(old);
    }
    const name = uniqueName('pmq-missing');
    expect(thrown(() => PosixMessageQueue.open(name))).toMatchObject({ code: 'ENOENT', syscall: 'mq_open', path: name });
    expect(thrown(() => PosixMessageQueue.unlink(name))).toMatchObject({ code: 'ENOENT', syscall: 'mq_unlink' });
  });

  test('bad names and options are refused before any syscall', () => {
    expect(thrown(() => PosixMessageQueue.create('a/b')).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => PosixMessageQueue.create('')).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => PosixMessageQueue.open('x'.repeat(256))).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => PosixMessageQueue.open(7 as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => PosixMessageQueue.create(uniqueName('p'), { maxMessages: 0 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => PosixMessageQueue.create(uniqueName('p'), { messageSize: 1.5 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => PosixMessageQueue.create(uniqueName('p'), { mode: -1 })).code).toBe('ERR_OUT_OF_RANGE');
  });
});

describe('kernel limits', () => {
  test('a queue over the hard limits is refused with EINVAL naming the limit', () => {
    const error = thrown(() => fresh({ maxMessages: 70000 })) as NodeJS.ErrnoException & { limit?: unknown };
    expect(error).toMatchObject({
      code: 'EINVAL',
      syscall: 'mq_open',
      limit: { name: '/proc/sys/fs/mqueue/msg_max', value: posixQueueLimits().msgMax },
    });
    expect(error.message).toContain('msg_max');
    const big = thrown(() => fresh({ maxMessages: 1, messageSize: 32 * 1024 * 1024 })) as NodeJS.ErrnoException & { limit?: unknown };
    expect(big).toMatchObject({ code: 'EINVAL', limit: { name: '/proc/sys/fs/mqueue/msgsize_max' } });
  });

  test('an unprivileged user meets msg_max, msgsize_max and RLIMIT_MSGQUEUE, and each error says which', async () => {
    if (!isRoot) throw new Error('this test drops to `nobody` and needs root to do so');
    const limits = posixQueueLimits();
    const stage = stagePackage();
    try {
      const name = uniqueName('pmq-nobody');
      const tooMany = JSON.parse((await runAsNobody(stage, 'mq-nobody.js', ['posix-create', name, String(limits.msgMax + 1), '64'])).stdout);
      expect(tooMany).toMatchObject({ code: 'EINVAL', limit: { name: '/proc/sys/fs/mqueue/msg_max', value: limits.msgMax } });
      expect(tooMany.message).toContain(`exceeds /proc/sys/fs/mqueue/msg_max = ${limits.msgMax}`);
      const tooLarge = JSON.parse((await runAsNobody(stage, 'mq-nobody.js', ['posix-create', name, '1', String(limits.msgsizeMax + 1)])).stdout);
      expect(tooLarge).toMatchObject({ code: 'EINVAL', limit: { name: '/proc/sys/fs/mqueue/msgsize_max', value: limits.msgsizeMax } });
      const atLimit = JSON.parse(
        (await runAsNobody(stage, 'mq-nobody.js', ['posix-create', name, String(limits.msgMax), String(limits.msgsizeMax)])).stdout,
      );
      expect(atLimit).toEqual({ created: true });
      const filled = JSON.parse((await runAsNobody(stage, 'mq-nobody.js', ['posix-fill', name])).stdout);
      expect(filled.created).toBeGreaterThan(0);
      expect(filled).toMatchObject({ code: 'EMFILE', limit: { name: 'RLIMIT_MSGQUEUE' } });
      expect(filled.message).toContain('RLIMIT_MSGQUEUE');
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  });
});

describe('messages', () => {
  test('higher priorities come first, equal ones in order; messageSize is the limit', async () => {
    const q = fresh({ maxMessages: 8, messageSize: 64 });
    await q.send('low-1');
    await q.send('high', { priority: 9 });
    await q.send('low-2');
    await q.send('mid', { priority: 3 });
    expect(await q.receive()).toEqual({ data: Buffer.from('high'), priority: 9 });
    expect(q.tryReceive()).toEqual({ data: Buffer.from('mid'), priority: 3 });
    expect(text(q.tryReceive())).toBe('low-1');
    expect(text(await q.receive())).toBe('low-2');
    expect(q.tryReceive()).toBeNull();
    await q.send(Buffer.alloc(64, 1));
    expect((await q.receive()).data.equals(Buffer.alloc(64, 1))).toBe(true);
    const error = await rejection(q.send(Buffer.alloc(65)));
    expect(error.code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
    expect(error.message).toContain('messageSize of 64');
    expect(thrown(() => q.trySend(Buffer.alloc(65))).code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
    expect((await rejection(q.send('x', { priority: 32768 }))).code).toBe('ERR_OUT_OF_RANGE');
  });

  test('a full queue: trySend says false; send waits and keeps call order; bytes are copied at call time', async () => {
    const q = fresh({ maxMessages: 2, messageSize: 16 });
    expect(q.trySend('a')).toBe(true);
    expect(q.trySend('b')).toBe(true);
    expect(q.trySend('c')).toBe(false);
    const reused = Buffer.alloc(4);
    const sends: Promise<number>[] = [];
    for (let i = 0; i < 4; i++) {
      reused.fill(48 + i);
      sends.push(q.send(reused).then(() => i));
      reused.fill(0);
    }
    expect(q.trySend('overtake')).toBe(false);
    const got: string[] = [];
    for (let i = 0; i < 6; i++) got.push(text(await q.receive())!);
    expect(got).toEqual(['a', 'b', '0000', '1111', '2222', '3333']);
    expect(await Promise.all(sends)).toEqual([0, 1, 2, 3]);
  });

  test('a receive waits on the event loop for a message another process sends', async () => {
    const q = fresh();
    const pending = q.receive();
    const sender = await run(process.execPath, [
      '-e',
      `
      const { PosixMessageQueue } = require(${JSON.stringify(repoRoot)});
      setTimeout(() => PosixMessageQueue.open(${JSON.stringify(q.name)}).send('hi there', { priority: 4 }), 100);
    `,
    ]);
    expect(sender).toMatchObject({ code: 0, stderr: '' });
    expect(await pending).toEqual({ data: Buffer.from('hi there'), priority: 4 });
  });

  test('unlinking the name leaves open queues working', async () => {
    const q = fresh();
    const pending = q.receive();
    q.unlink();
    q.trySend('still here');
    expect(text(await pending)).toBe('still here');
  });
});

describe('waiting: timeouts, aborts, close, ref', () => {
  test('timeouts and aborts settle promptly with their codes, and nothing is consumed or sent', async () => {
    const q = fresh({ maxMessages: 1, messageSize: 16 });
    // Not early: a lower bound on the monotonic clock (the timer's own), 1 ms for rounding.
    const started = performance.now();
    expect((await rejection(q.receive({ timeout: 40 }))).code).toBe(ErrorCodes.TIMEOUT);
    expect(performance.now() - started).toBeGreaterThanOrEqual(39);
    expect((await rejection(q.receive({ timeout: 0 }))).code).toBe(ErrorCodes.TIMEOUT);
    const controller = new AbortController();
    const receive = rejection(q.receive({ signal: controller.signal }));
    controller.abort();
    expect((await receive).code).toBe(ErrorCodes.ABORTED);
    q.trySend('fill');
    const send = rejection(q.send('never', { signal: AbortSignal.timeout(30) }));
    expect((await send).code).toBe(ErrorCodes.ABORTED);
    expect(text(q.tryReceive())).toBe('fill');
    expect(q.tryReceive()).toBeNull();
    expect((await rejection(q.send('x', { signal: AbortSignal.abort() }))).code).toBe(ErrorCodes.ABORTED);
  });

  test('close settles pending operations with ERR_IPC_CLOSED and releases the descriptor', async () => {
    const fds = fs.readdirSync('/proc/self/fd').length;
    const q = fresh({ maxMessages: 1, messageSize: 16 });
    expect(fs.readdirSync('/proc/self/fd').length).toBe(fds + 1);
    const first = q.receive();
    await new Promise((resolve) => setTimeout(resolve, 10));
    q.trySend('x');
    expect(text(await first)).toBe('x');
    const receives = [rejection(q.receive({ timeout: 5000 })), rejection(q.receive())];
    q.close();
    q.close();
    for (const error of await Promise.all(receives)) expect(error.code).toBe(ErrorCodes.CLOSED);
    expect(fs.readdirSync('/proc/self/fd').length).toBe(fds);
    expect(thrown(() => q.tryReceive()).code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => q.attributes).code).toBe(ErrorCodes.CLOSED);
    expect((await rejection(q.send('x'))).code).toBe(ErrorCodes.CLOSED);
  });

  test("a pending receive on an unref()'d queue lets the process exit; a referenced one keeps it alive", async () => {
    const name = uniqueName('pmq-ref');
    const script = (unref: boolean) => `
      const { PosixMessageQueue } = require(${JSON.stringify(repoRoot)});
      const q = PosixMessageQueue.openOrCreate(${JSON.stringify(name)});
      process.on('exit', () => console.log('exited'));
      q.receive({ timeout: 1500 }).catch((e) => console.log(e.code));
      ${unref ? 'q.unref();' : ''}
    `;
    try {
      expect(await run(process.execPath, ['-e', script(true)], { timeout: 10000 })).toMatchObject({ code: 0, stdout: 'exited\n' });
      expect(await run(process.execPath, ['-e', script(false)], { timeout: 10000 })).toMatchObject({ code: 0, stdout: 'ERR_IPC_TIMEOUT\nexited\n' });
    } finally {
      PosixMessageQueue.unlink(name);
    }
  });

  test('for await yields messages; break leaves the rest; close ends the loop', async () => {
    const q = fresh();
    for (const m of ['a', 'b', 'c']) q.trySend(m);
    const seen: string[] = [];
    for await (const m of q) {
      seen.push(text(m)!);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['a', 'b']);
    expect(q.attributes.currentMessages).toBe(1);
    setTimeout(() => q.close(), 20);
    const rest: string[] = [];
    for await (const m of q) rest.push(text(m)!);
    expect(rest).toEqual(['c']);
  });
});

describe('across users', () => {
  test('opening an owner-only queue as another user fails with EACCES', async () => {
    const q = fresh();
    if (!isRoot) throw new Error('this test drops to `nobody` and needs root to do so');
    const stage = stagePackage();
    try {
      const denied = JSON.parse((await runAsNobody(stage, 'mq-nobody.js', ['posix-open', q.name])).stdout);
      expect(denied).toMatchObject({ code: 'EACCES', syscall: 'mq_open' });
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  });
});

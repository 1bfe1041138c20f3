// System V message queues against the kernel: semantics, limits, waits, and every error path.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SysVMessageQueue, ftok, ErrorCodes } from '../../lib';
import { isRoot, repoRoot, run, runAsNobody, scratchDir, stagePackage, sysvKey, thrown } from '../helpers';

const opened: SysVMessageQueue[] = [];
function track(queue: SysVMessageQueue): SysVMessageQueue {
  opened.push(queue);
  return queue;
}
afterEach(() => {
  for (const queue of opened.splice(0)) {
    const { id } = queue;
    queue.close();
    // By id, since the handle may be closed; a queue a test removed is already gone.
    spawnSync('ipcrm', ['-q', String(id)], { stdio: 'ignore' });
  }
});

const fresh = () => track(SysVMessageQueue.createPrivate());
const text = (m: { data: Buffer } | null) => m?.data.toString();
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error) => error as NodeJS.ErrnoException,
  );

function kernelQueues(): { key: number; id: number; mode: number }[] {
  return fs
    .readFileSync('/proc/sysvipc/msg', 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [key, id, perms] = line.trim().split(/\s+/);
      return { key: Number(key), id: Number(id), mode: Number.parseInt(perms, 8) & 0o777 };
    });
}

describe('create / open / openOrCreate / createPrivate', () => {
  test('create is exclusive, open finds it, and both are the kernel queue ipcs lists', () => {
    const key = sysvKey();
    const created = track(SysVMessageQueue.create(key));
    expect(created.created).toBe(true);
    expect(created.key).toBe(key);
    expect(kernelQueues()).toContainEqual({ key, id: created.id, mode: 0o600 });
    const error = thrown(() => SysVMessageQueue.create(key));
    expect(error).toMatchObject({ code: 'EEXIST', syscall: 'msgget', path: `0x${key.toString(16).padStart(8, '0')}` });
    const again = track(SysVMessageQueue.open(key));
    expect(again.id).toBe(created.id);
    expect(again.created).toBe(false);
    const either = track(SysVMessageQueue.openOrCreate(key));
    expect(either.created).toBe(false);
    expect(either.id).toBe(created.id);
  });

  test('open of a missing key fails with ENOENT; openOrCreate creates with the mode asked', () => {
    const key = sysvKey();
    expect(thrown(() => SysVMessageQueue.open(key))).toMatchObject({ code: 'ENOENT', syscall: 'msgget' });
    const queue = track(SysVMessageQueue.openOrCreate(key, { mode: 0o640 }));
    expect(queue.created).toBe(true);
    expect(queue.stat().mode).toBe(0o640);
  });

  test('createPrivate makes a new keyless queue each time', () => {
    const a = fresh();
    const b = fresh();
    expect(a.key).toBe(0);
    expect(a.id).not.toBe(b.id);
  });

  test('ftok gives the key C and Python compute for the same file', async () => {
    const file = path.join(scratchDir(), 'ftok-file');
    fs.writeFileSync(file, '');
    const key = ftok(file, 42);
    const python = await run('/usr/bin/python3', ['-c', `import sysv_ipc; print(sysv_ipc.ftok(${JSON.stringify(file)}, 42, silence_warning=True))`]);
    expect(python.stderr).toBe('');
    expect(Number(python.stdout)).toBe(key);
    expect(thrown(() => ftok(path.join(scratchDir(), 'missing'), 1))).toMatchObject({ code: 'ENOENT', syscall: 'ftok' });
    expect(thrown(() => ftok(file, 0)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => ftok(file, 256)).code).toBe('ERR_OUT_OF_RANGE');
  });

  test.each([
    ['zero (IPC_PRIVATE)', 0, 'ERR_INVALID_ARG_VALUE'],
    ['fractional', 1.5, 'ERR_OUT_OF_RANGE'],
    ['too large', 2 ** 33, 'ERR_OUT_OF_RANGE'],
    ['NaN', NaN, 'ERR_OUT_OF_RANGE'],
    ['a string', '1234', 'ERR_INVALID_ARG_TYPE'],
  ])('refuses a %s key before any syscall', (_label, key, code) => {
    for (const call of [
      () => SysVMessageQueue.create(key as number),
      () => SysVMessageQueue.open(key as number),
      () => SysVMessageQueue.openOrCreate(key as number),
    ]) {
      expect(thrown(call).code).toBe(code);
    }
  });
});

describe('messages', () => {
  test("type selection is msgrcv's: zero the first, positive exactly, negative the lowest up to |type|", async () => {
    const q = fresh();
    for (const type of [3, 1, 2, 5, 2]) await q.send(`type ${type}`, { type });
    expect(await q.receive({ type: 2 })).toEqual({ type: 2, data: Buffer.from('type 2') });
    expect(q.tryReceive({ type: -2 })).toEqual({ type: 1, data: Buffer.from('type 1') });
    expect(q.tryReceive({ type: 4 })).toBeNull();
    expect(q.tryReceive()).toEqual({ type: 3, data: Buffer.from('type 3') });
    expect(await q.receive({ type: -10 })).toEqual({ type: 2, data: Buffer.from('type 2') });
    expect(q.tryReceive({ type: 0 })).toEqual({ type: 5, data: Buffer.from('type 5') });
    expect(q.tryReceive()).toBeNull();
  });

  test('messages up to msgmax pass both ways; larger ones fail with a coded error naming the limit', async () => {
    const q = fresh();
    const msgmax = Number(fs.readFileSync('/proc/sys/kernel/msgmax', 'utf8'));
    expect(q.messageMax).toBe(msgmax);
    const biggest = Buffer.alloc(msgmax, 7);
    await q.send(biggest);
    expect((await q.receive()).data.equals(biggest)).toBe(true);
    expect(q.trySend(biggest)).toBe(true);
    expect(q.tryReceive()!.data.length).toBe(msgmax);
    const tooBig = Buffer.alloc(msgmax + 1);
    const error = await rejection(q.send(tooBig));
    expect(error.code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
    expect(error.message).toContain(`msgmax of ${msgmax}`);
    expect(thrown(() => q.trySend(tooBig)).code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
  });

  test('a message larger than maxSize stays queued with ERR_IPC_MESSAGE_TOO_LARGE, or is truncated with noError', async () => {
    const q = fresh();
    await q.send(Buffer.alloc(200, 1));
    expect((await rejection(q.receive({ maxSize: 100 }))).code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
    expect(thrown(() => q.tryReceive({ maxSize: 100 })).code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
    expect(q.stat().messages).toBe(1);
    const truncated = await q.receive({ maxSize: 100, noError: true });
    expect(truncated.data.equals(Buffer.alloc(100, 1))).toBe(true);
    expect(q.stat().messages).toBe(0);
  });

  test('strings, typed arrays, DataViews and ArrayBuffers are sent as their bytes', async () => {
    const q = fresh();
    await q.send('héllo');
    await q.send(new Uint16Array([0x0102, 0x0304]));
    await q.send(new DataView(new Uint8Array([9, 8, 7]).buffer, 1));
    await q.send(new Uint8Array([5, 6]).buffer);
    expect(text(q.tryReceive())).toBe('héllo');
    expect([...q.tryReceive()!.data]).toEqual([2, 1, 4, 3]);
    expect([...q.tryReceive()!.data]).toEqual([8, 7]);
    expect([...q.tryReceive()!.data]).toEqual([5, 6]);
  });

  test('a full queue: trySend says false; send waits for room and keeps call order; its bytes were copied at call time', async () => {
    const q = fresh();
    const { maxBytes } = q.stat();
    const chunk = Buffer.alloc(maxBytes / 4);
    while (q.trySend(chunk, { type: 9 }));
    expect(q.stat().bytes).toBe(maxBytes);
    const reused = Buffer.alloc(100);
    const sends: Promise<number>[] = [];
    for (let i = 0; i < 5; i++) {
      reused.fill(i);
      sends.push(q.send(reused, { type: 1 }).then(() => i));
      reused.fill(0xff);
    }
    expect(q.trySend('overtaking?')).toBe(false); // earlier sends on this handle go first
    for (let i = 0; i < 4; i++) expect(q.tryReceive({ type: 9 })!.data.length).toBe(chunk.length);
    expect(await Promise.all(sends)).toEqual([0, 1, 2, 3, 4]);
    for (let i = 0; i < 5; i++) expect(q.tryReceive({ type: 1 })!.data.equals(Buffer.alloc(100, i))).toBe(true);
  });

  test('a receive waits for a message another process sends later', async () => {
    const key = sysvKey();
    const q = track(SysVMessageQueue.create(key));
    const pending = q.receive({ type: 4 });
    const sender = await run(process.execPath, [
      '-e',
      `
      const { SysVMessageQueue } = require(${JSON.stringify(repoRoot)});
      setTimeout(() => SysVMessageQueue.open(${key}).send('from another process', { type: 4 }), 100);
    `,
    ]);
    expect(sender).toMatchObject({ code: 0, stderr: '' });
    expect(await pending).toEqual({ type: 4, data: Buffer.from('from another process') });
  });
});

describe('stat, set, remove', () => {
  test('stat reports counts, limits, last pids and times; set changes mode and maxBytes', async () => {
    const q = fresh();
    const before = Date.now();
    await q.send('abc');
    await q.send('defg');
    const stat = q.stat();
    expect(stat).toMatchObject({
      messages: 2,
      bytes: 7,
      mode: 0o600,
      lastSendPid: process.pid,
      lastReceivePid: 0,
      lastReceiveTime: null,
      uid: process.getuid!(),
      cuid: process.getuid!(),
    });
    expect(stat.maxBytes).toBe(Number(fs.readFileSync('/proc/sys/kernel/msgmnb', 'utf8')));
    expect(stat.lastSendTime!.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    q.tryReceive();
    expect(q.stat()).toMatchObject({ messages: 1, bytes: 4, lastReceivePid: process.pid });
    q.set({ mode: 0o640, maxBytes: 1024 });
    expect(q.stat()).toMatchObject({ mode: 0o640, maxBytes: 1024 });
    // A message that can never fit is refused instead of waiting forever.
    expect(thrown(() => q.trySend(Buffer.alloc(2000))).code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
    expect((await rejection(q.send(Buffer.alloc(2000)))).message).toContain('can never fit');
    expect(thrown(() => q.set({ mode: 0o1000 })).code).toBe('ERR_OUT_OF_RANGE');
  });

  test('removing the queue from another process ends a pending receive here with EIDRM', async () => {
    const key = sysvKey();
    const q = track(SysVMessageQueue.create(key));
    const pending = rejection(q.receive());
    const remover = await run(process.execPath, ['-e', `require(${JSON.stringify(repoRoot)}).SysVMessageQueue.open(${key}).remove()`]);
    expect(remover.code).toBe(0);
    expect(await pending).toMatchObject({ code: 'EIDRM', syscall: 'msgrcv' });
    expect(thrown(() => q.tryReceive())).toMatchObject({ code: 'EINVAL', syscall: 'msgrcv' });
  });
});

describe('waiting: timeouts, aborts, close', () => {
  test('a receive times out with ERR_IPC_TIMEOUT; timeout 0 never waits', async () => {
    const q = fresh();
    // Not early: a lower bound on the monotonic clock (the timer's own), 1 ms for rounding.
    const started = performance.now();
    expect((await rejection(q.receive({ timeout: 50 }))).code).toBe(ErrorCodes.TIMEOUT);
    expect(performance.now() - started).toBeGreaterThanOrEqual(49);
    expect((await rejection(q.receive({ timeout: 0 }))).code).toBe(ErrorCodes.TIMEOUT);
    q.trySend('there');
    expect(text(await q.receive({ timeout: 0 }))).toBe('there');
  });

  test('an AbortSignal cancels a waiting receive or send with ERR_IPC_ABORTED, and an aborted one never starts', async () => {
    const q = fresh();
    const controller = new AbortController();
    const receive = rejection(q.receive({ type: 77, signal: controller.signal }));
    while (q.trySend(Buffer.alloc(4096)));
    const send = rejection(q.send('never sent', { signal: controller.signal }));
    const { messages } = q.stat();
    controller.abort();
    expect((await receive).code).toBe(ErrorCodes.ABORTED);
    expect((await send).code).toBe(ErrorCodes.ABORTED);
    expect(q.stat().messages).toBe(messages);
    expect((await rejection(q.receive({ signal: AbortSignal.abort() }))).code).toBe(ErrorCodes.ABORTED);
  });

  test('a send that times out on a full queue sends nothing; the next one goes through once there is room', async () => {
    const q = fresh();
    while (q.trySend(Buffer.alloc(4096)));
    const { messages } = q.stat();
    expect((await rejection(q.send('late', { timeout: 30 }))).code).toBe(ErrorCodes.TIMEOUT);
    expect(q.stat().messages).toBe(messages);
    q.tryReceive();
    await q.send('fits');
    expect(q.stat().messages).toBe(messages);
  });

  test('close settles pending sends and receives with ERR_IPC_CLOSED; later use is refused', async () => {
    const q = fresh();
    const receives = [rejection(q.receive({ type: 77 })), rejection(q.receive({ type: -3 }))];
    while (q.trySend(Buffer.alloc(4096), { type: 10 }));
    const sends = [rejection(q.send('a')), rejection(q.send('b'))];
    q.close();
    q.close();
    for (const error of await Promise.all([...receives, ...sends])) expect(error.code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => q.trySend('x')).code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => q.tryReceive()).code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => q.stat()).code).toBe(ErrorCodes.CLOSED);
    expect((await rejection(q.receive())).code).toBe(ErrorCodes.CLOSED);
    expect((await rejection(q.send('x'))).code).toBe(ErrorCodes.CLOSED);
  });

  test('no message is lost when receives time out just as messages arrive', async () => {
    const q = fresh();
    const sent = 400;
    const got: number[] = [];
    let next = 0;
    const sender = setInterval(() => {
      for (let i = 0; i < 3 && next < sent; i++) q.trySend(String(next++));
      if (next >= sent) clearInterval(sender);
    }, 1);
    while (next < sent) {
      try {
        got.push(Number(text(await q.receive({ timeout: Math.random() < 0.5 ? 0 : 1 }))));
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe(ErrorCodes.TIMEOUT);
      }
    }
    for (let m = q.tryReceive(); m !== null; m = q.tryReceive()) got.push(Number(text(m)));
    expect(got).toEqual([...Array(sent).keys()]);
  });
});

describe('iteration', () => {
  test('for await yields messages in order; break leaves the rest queued; close ends the loop', async () => {
    const q = fresh();
    for (let i = 0; i < 5; i++) q.trySend(`m${i}`, { type: i + 1 });
    const seen: string[] = [];
    for await (const message of q) {
      seen.push(text(message)!);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['m0', 'm1']);
    expect(q.stat().messages).toBe(3);
    const typed: number[] = [];
    for await (const { type } of q.messages({ type: -4 })) {
      typed.push(type);
      if (typed.length === 2) break;
    }
    expect(typed).toEqual([3, 4]);
    setTimeout(() => q.close(), 20);
    const rest: string[] = [];
    for await (const message of q) rest.push(text(message)!);
    expect(rest).toEqual(['m4']);
  });
});

describe('bad arguments', () => {
  test("are refused with Node's codes before any syscall", async () => {
    const q = fresh();
    expect((await rejection(q.send('x', { type: 0 }))).code).toBe('ERR_OUT_OF_RANGE');
    expect((await rejection(q.send('x', { type: 1.5 }))).code).toBe('ERR_OUT_OF_RANGE');
    expect((await rejection(q.send(42 as never))).code).toBe('ERR_INVALID_ARG_TYPE');
    expect((await rejection(q.send('x', { timeout: -1 }))).code).toBe('ERR_OUT_OF_RANGE');
    expect((await rejection(q.receive({ timeout: NaN }))).code).toBe('ERR_OUT_OF_RANGE');
    expect((await rejection(q.receive({ signal: {} as AbortSignal }))).code).toBe('ERR_INVALID_ARG_TYPE');
    expect((await rejection(q.receive({ maxSize: -1 }))).code).toBe('ERR_OUT_OF_RANGE');
    expect((await rejection(q.receive({ noError: 1 as never }))).code).toBe('ERR_INVALID_ARG_TYPE');
    expect((await rejection(q.receive(null as never))).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => q.trySend(null as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => q.set({ maxBytes: -5 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(q.stat().messages).toBe(0);
  });
});

describe('across users and process lifetime', () => {
  test('opening an owner-only queue as another user fails with EACCES from msgget', async () => {
    const key = sysvKey();
    const q = track(SysVMessageQueue.create(key));
    if (!isRoot) {
      q.set({ mode: 0 });
      expect(thrown(() => SysVMessageQueue.open(key))).toMatchObject({ code: 'EACCES', syscall: 'msgget' });
      return;
    }
    const stage = stagePackage();
    try {
      const denied = await runAsNobody(stage, 'mq-nobody.js', ['sysv-open', String(key)]);
      expect(JSON.parse(denied.stdout)).toMatchObject({ code: 'EACCES', syscall: 'msgget' });
      q.set({ mode: 0o666 });
      const allowed = await runAsNobody(stage, 'mq-nobody.js', ['sysv-open', String(key)]);
      expect(JSON.parse(allowed.stdout)).toEqual({ opened: true });
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  });

  test("a pending receive on an unref()'d queue lets the process exit; a referenced one keeps it alive", async () => {
    const script = (unref: boolean) => `
      const { SysVMessageQueue } = require(${JSON.stringify(repoRoot)});
      const q = SysVMessageQueue.createPrivate();
      process.on('exit', () => { q.remove(); console.log('exited'); });
      q.receive({ timeout: 1500 }).catch((e) => console.log(e.code));
      ${unref ? 'q.unref();' : ''}
    `;
    const unrefd = await run(process.execPath, ['-e', script(true)], { timeout: 10000 });
    expect(unrefd).toMatchObject({ code: 0, stdout: 'exited\n' });
    const refd = await run(process.execPath, ['-e', script(false)], { timeout: 10000 });
    expect(refd).toMatchObject({ code: 0, stdout: 'ERR_IPC_TIMEOUT\nexited\n' });
  });
});

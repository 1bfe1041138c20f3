// Every error a limit causes carries `error.limit = { name, value }`, with the value the kernel
// has (read here from /proc, independently of the addon), while `error.path` stays the object's
// name. Limits that take thousands of objects to reach are lowered in a private IPC namespace.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, PosixMessageQueue, SysVMessageQueue, SysVSemaphoreSet } from '../../lib';
import { binding, QueueFlags } from '../../lib/binding';
import { isRoot, run, stagePackage, thrown, uniqueName } from '../helpers';

type LimitedError = NodeJS.ErrnoException & { limit?: { name: string; value: number } };

const procNumber = (file: string) => Number(fs.readFileSync(file, 'utf8').trim());
const [SEMMSL, , SEMOPM] = fs.readFileSync('/proc/sys/kernel/sem', 'utf8').trim().split(/\s+/).map(Number);
const packageRoot = path.join(__dirname, '..', '..');
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error) => error as LimitedError,
  );

const queues: SysVMessageQueue[] = [];
const sets: SysVSemaphoreSet[] = [];
const names: string[] = [];
afterEach(() => {
  for (const q of queues.splice(0)) {
    if (!q.closed) q.remove();
    q.close();
  }
  for (const s of sets.splice(0)) {
    if (!s.closed) s.remove();
    s.close();
  }
  for (const name of names.splice(0)) {
    try {
      PosixMessageQueue.unlink(name);
    } catch {
      // never created
    }
  }
});

describe('System V message queues', () => {
  test('a message over msgmax: ERR_IPC_MESSAGE_TOO_LARGE with limit /proc/sys/kernel/msgmax, for send, trySend and receive', async () => {
    const q = SysVMessageQueue.createPrivate();
    queues.push(q);
    const msgmax = procNumber('/proc/sys/kernel/msgmax');
    const expected = { code: ErrorCodes.MESSAGE_TOO_LARGE, limit: { name: '/proc/sys/kernel/msgmax', value: msgmax } };
    const tooBig = Buffer.alloc(msgmax + 1);
    expect(await rejection(q.send(tooBig))).toMatchObject(expected);
    expect(thrown(() => q.trySend(tooBig))).toMatchObject(expected);
    // A receive bound past msgmax is an argument out of range, for the same limit.
    const receiveLimit = { code: 'ERR_OUT_OF_RANGE', limit: { name: '/proc/sys/kernel/msgmax', value: msgmax } };
    expect(thrown(() => q.tryReceive({ maxSize: msgmax + 1 }))).toMatchObject(receiveLimit);
    expect(await rejection(q.receive({ maxSize: msgmax + 1 }))).toMatchObject(receiveLimit);
    // The addon's own check says the same to a caller that skips lib/.
    const handle = binding.openSysVQueue!(0, QueueFlags.CREATE | QueueFlags.PRIVATE, 0o600);
    try {
      expect(thrown(() => handle.tryReceiveInto(0, Buffer.alloc(64), 0, msgmax + 1, false))).toMatchObject(receiveLimit);
    } finally {
      handle.remove();
      handle.close();
    }
    // At the limit, nothing is refused.
    expect(q.trySend(Buffer.alloc(msgmax))).toBe(true);
  });

  test("a message larger than the queue's msg_qbytes can never fit: the limit is the queue's own", async () => {
    const q = SysVMessageQueue.createPrivate();
    queues.push(q);
    q.set({ maxBytes: 100 }); // lowering needs no privilege
    const expected = { code: ErrorCodes.MESSAGE_TOO_LARGE, limit: { name: 'msg_qbytes', value: 100 } };
    expect(await rejection(q.send(Buffer.alloc(101)))).toMatchObject(expected);
    // trySend sees a full queue first, then asks the kernel whether the message could ever fit.
    expect(thrown(() => q.trySend(Buffer.alloc(101)))).toMatchObject(expected);
    expect(q.trySend(Buffer.alloc(100))).toBe(true);
  });
});

describe('System V semaphore sets', () => {
  test('more operations than SEMOPM: refused before semop, with limit SEMOPM; the kernel says E2BIG with the same limit', () => {
    const set = SysVSemaphoreSet.createPrivate({ count: 1 });
    sets.push(set);
    const ops = Array.from({ length: SEMOPM + 1 }, () => ({ index: 0, delta: 0 }));
    const error = thrown(() => set.tryOp(ops)) as LimitedError;
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', limit: { name: 'SEMOPM', value: SEMOPM } });
    expect(error.message).toContain(`at most ${SEMOPM} operations`);
    expect(thrown(() => set.opSync(ops))).toMatchObject({ limit: { name: 'SEMOPM', value: SEMOPM } });
    // Past lib/'s check, the kernel refuses the call itself, and the addon names the same limit.
    const handle = binding.openSysVSemaphoreSet!(0, QueueFlags.CREATE | QueueFlags.PRIVATE, 0o600, 1);
    try {
      const kernel = thrown(() => handle.tryOp(new Int32Array(3 * (SEMOPM + 1)), false)) as LimitedError;
      expect(kernel).toMatchObject({ code: 'E2BIG', syscall: 'semop', path: 'IPC_PRIVATE', limit: { name: 'SEMOPM', value: SEMOPM } });
      expect(kernel.message).toContain(`SEMOPM = ${SEMOPM}`);
    } finally {
      handle.remove();
      handle.close();
    }
    expect(set.tryOp(ops.slice(1))).toBe(true);
  });

  test('a set larger than SEMMSL: refused before semget, and by semget, with limit SEMMSL', () => {
    const error = thrown(() => SysVSemaphoreSet.createPrivate({ count: SEMMSL + 1 })) as LimitedError;
    expect(error).toMatchObject({ code: 'ERR_OUT_OF_RANGE', limit: { name: 'SEMMSL', value: SEMMSL } });
    const kernel = thrown(() => binding.openSysVSemaphoreSet!(0, QueueFlags.CREATE | QueueFlags.PRIVATE, 0o600, SEMMSL + 1)) as LimitedError;
    expect(kernel).toMatchObject({ code: 'EINVAL', syscall: 'semget', path: 'IPC_PRIVATE', limit: { name: 'SEMMSL', value: SEMMSL } });
  });
});

describe('POSIX message queues', () => {
  test('one attribute given: the other is the system default, and a refusal names the limit of the one given', () => {
    const defaults = { maxMessages: procNumber('/proc/sys/fs/mqueue/msg_default'), messageSize: procNumber('/proc/sys/fs/mqueue/msgsize_default') };
    const small = uniqueName('lim-size');
    names.push(small);
    const bySize = PosixMessageQueue.create(small, { messageSize: 16 });
    expect(bySize.attributes).toMatchObject({ maxMessages: defaults.maxMessages, messageSize: 16 });
    bySize.close();
    const few = uniqueName('lim-count');
    names.push(few);
    const byCount = PosixMessageQueue.create(few, { maxMessages: 2 });
    expect(byCount.attributes).toMatchObject({ maxMessages: 2, messageSize: defaults.messageSize });
    byCount.close();
    // Past the ceilings even CAP_SYS_RESOURCE has (65536 messages, 16 MiB), so this holds for root too.
    const msgMax = procNumber('/proc/sys/fs/mqueue/msg_max');
    const msgsizeMax = procNumber('/proc/sys/fs/mqueue/msgsize_max');
    const many = uniqueName('lim-many');
    const tooMany = thrown(() => PosixMessageQueue.create(many, { maxMessages: 65537 })) as LimitedError;
    // The name alone in path; the limit in the message after it.
    expect(tooMany).toMatchObject({ code: 'EINVAL', syscall: 'mq_open', path: many, limit: { name: '/proc/sys/fs/mqueue/msg_max', value: msgMax } });
    expect(tooMany.message).toContain(`mq_open '${many}' (maxMessages 65537 exceeds /proc/sys/fs/mqueue/msg_max = ${msgMax}`);
    const tooLarge = thrown(() => PosixMessageQueue.create(uniqueName('lim-large'), { messageSize: 16 * 1024 * 1024 + 1 })) as LimitedError;
    expect(tooLarge).toMatchObject({ code: 'EINVAL', limit: { name: '/proc/sys/fs/mqueue/msgsize_max', value: msgsizeMax } });
  });

  test("a message over the queue's messageSize names mq_msgsize", async () => {
    const name = uniqueName('lim-msgsize');
    names.push(name);
    const q = PosixMessageQueue.create(name, { maxMessages: 1, messageSize: 8 });
    try {
      const expected = { code: ErrorCodes.MESSAGE_TOO_LARGE, limit: { name: 'mq_msgsize', value: 8 } };
      expect(thrown(() => q.trySend(Buffer.alloc(9)))).toMatchObject(expected);
      expect(await rejection(q.send(Buffer.alloc(9)))).toMatchObject(expected);
    } finally {
      q.close();
    }
  });

  test("RLIMIT_MSGQUEUE: EMFILE carries the process's own soft limit", async () => {
    const script = `
      const { PosixMessageQueue } = require(${JSON.stringify(packageRoot)});
      const name = ${JSON.stringify(uniqueName('lim-rlimit'))};
      try {
        PosixMessageQueue.create(name, { maxMessages: 10, messageSize: 1024 }).close();
        PosixMessageQueue.unlink(name);
        console.log(JSON.stringify({ created: true }));
      } catch (e) {
        console.log(JSON.stringify({ code: e.code, path: e.path, limit: e.limit, message: e.message }));
      }`;
    // The kernel counts this against the user's budget whoever the user is, root included.
    const result = await run('prlimit', ['--msgqueue=4096:4096', process.execPath, '-e', script]);
    expect(result.stderr).toBe('');
    const error = JSON.parse(result.stdout);
    expect(error).toMatchObject({ code: 'EMFILE', limit: { name: 'RLIMIT_MSGQUEUE', value: 4096 } });
    expect(error.message).toContain('RLIMIT_MSGQUEUE = 4096 bytes');
  });
});

// A private IPC namespace whose limits a root process may lower: `setup` runs as root in it, then
// `script` runs (as `user`, if given).
const canUnshare = isRoot && spawnSync('unshare', ['--ipc', 'true']).status === 0;
async function inNamespace(setup: string, script: string, root = packageRoot, user?: number): Promise<LimitedError & { made: number }> {
  const drop = user === undefined ? [] : ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--clear-groups'];
  const body = `const ipckit = require(${JSON.stringify(root)}); const made = [];
    try { for (;;) made.push(${script}); }
    catch (e) { console.log(JSON.stringify({ made: made.length, code: e.code, syscall: e.syscall, path: e.path, limit: e.limit, message: e.message })); }`;
  const result = await run('unshare', ['--ipc', 'sh', '-c', `${setup} && exec "$@"`, 'sh', ...drop, process.execPath, '-e', body]);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
}

(canUnshare ? describe : describe.skip)('limits reached in a private IPC namespace (root)', () => {
  test('msgmni: msgget ENOSPC, path the key, the limit in error.limit and the message', async () => {
    const error = await inNamespace('echo 3 > /proc/sys/kernel/msgmni', 'ipckit.SysVMessageQueue.create(0x4c1a0000 + made.length)');
    expect(error.made).toBe(3);
    expect(error).toMatchObject({ code: 'ENOSPC', syscall: 'msgget', path: '0x4c1a0003', limit: { name: '/proc/sys/kernel/msgmni', value: 3 } });
    expect(error.message).toBe(
      "ENOSPC: no space left on device, msgget '0x4c1a0003' (the system's limit of queues, /proc/sys/kernel/msgmni = 3, is reached)",
    );
  });

  test('SEMMNI and SEMMNS: semget ENOSPC says which of the two is reached', async () => {
    const sets = await inNamespace("echo '250 32000 32 2' > /proc/sys/kernel/sem", 'ipckit.SysVSemaphoreSet.createPrivate({ count: 1 })');
    expect(sets.made).toBe(2);
    expect(sets).toMatchObject({ code: 'ENOSPC', syscall: 'semget', path: 'IPC_PRIVATE', limit: { name: 'SEMMNI', value: 2 } });
    const semaphores = await inNamespace("echo '250 10 32 128' > /proc/sys/kernel/sem", 'ipckit.SysVSemaphoreSet.createPrivate({ count: 6 })');
    expect(semaphores.made).toBe(1);
    expect(semaphores).toMatchObject({ code: 'ENOSPC', path: 'IPC_PRIVATE', limit: { name: 'SEMMNS', value: 10 } });
    expect(semaphores.message).toContain('6 exist');
  });

  test('queues_max: mq_open ENOSPC for an unprivileged user', async () => {
    // CAP_SYS_RESOURCE passes queues_max: the queues are made as `nobody`.
    const stage = stagePackage();
    try {
      const error = await inNamespace(
        'echo 2 > /proc/sys/fs/mqueue/queues_max',
        "ipckit.PosixMessageQueue.create('/lim-' + made.length, { maxMessages: 1, messageSize: 8 })",
        stage,
        65534,
      );
      expect(error.made).toBe(2);
      expect(error).toMatchObject({
        code: 'ENOSPC',
        syscall: 'mq_open',
        path: '/lim-2',
        limit: { name: '/proc/sys/fs/mqueue/queues_max', value: 2 },
      });
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  });
});

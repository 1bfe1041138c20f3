// System V semaphore sets against the kernel: semantics, waits, and every error path.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SysVSemaphoreSet, ErrorCodes, type SemaphoreOp } from '../../lib';
import { eventually, fixtures, isRoot, repoRoot, run, runAsNobody, stagePackage, sysvKey, thrown } from '../helpers';

const opened: SysVSemaphoreSet[] = [];
function track(set: SysVSemaphoreSet): SysVSemaphoreSet {
  opened.push(set);
  return set;
}
afterEach(() => {
  for (const set of opened.splice(0)) {
    const { id } = set;
    set.close();
    // By id, since the handle may be closed; a set a test removed is already gone.
    spawnSync('ipcrm', ['-s', String(id)], { stdio: 'ignore' });
  }
});

const fresh = (count = 1) => track(SysVSemaphoreSet.createPrivate({ count }));
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error) => error as NodeJS.ErrnoException,
  );
const packageDir = JSON.stringify(repoRoot);
const [SEMMSL, , SEMOPM] = fs.readFileSync('/proc/sys/kernel/sem', 'utf8').trim().split(/\s+/).map(Number);
const P = (index = 0, extra: Partial<SemaphoreOp> = {}): SemaphoreOp => ({ index, delta: -1, ...extra });
const V = (index = 0, extra: Partial<SemaphoreOp> = {}): SemaphoreOp => ({ index, delta: 1, ...extra });

function kernelSets(): { key: number; id: number; mode: number; count: number }[] {
  return fs
    .readFileSync('/proc/sysvipc/sem', 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [key, id, perms, nsems] = line.trim().split(/\s+/);
      return { key: Number(key), id: Number(id), mode: Number.parseInt(perms, 8) & 0o777, count: Number(nsems) };
    });
}

/** Resolves once the kernel counts `n` waiters for an increase (or for zero) on semaphore `index`. */
function waitersReach(set: SysVSemaphoreSet, index: number, n: number, kind: 'forIncrease' | 'forZero' = 'forIncrease'): Promise<void> {
  return eventually(`semaphore ${index} has ${n} waiters ${kind}`, () => set.stat().waiters[index][kind] === n);
}

/** Whether a promise is still pending after a moment. */
async function pending(promise: Promise<unknown>, ms = 50): Promise<boolean> {
  const marker = Symbol('pending');
  const result = await Promise.race([
    promise.then(
      () => 'settled',
      () => 'settled',
    ),
    new Promise((resolve) => setTimeout(() => resolve(marker), ms)),
  ]);
  return result === marker;
}

describe('create / open / openOrCreate / createPrivate', () => {
  test('create is exclusive, open finds it, and both are the kernel set ipcs lists', () => {
    const key = sysvKey();
    const created = track(SysVSemaphoreSet.create(key, { count: 3 }));
    expect(created).toMatchObject({ created: true, key, count: 3 });
    expect(kernelSets()).toContainEqual({ key, id: created.id, mode: 0o600, count: 3 });
    expect(created.getAll()).toEqual([0, 0, 0]);
    const error = thrown(() => SysVSemaphoreSet.create(key, { count: 3 }));
    expect(error).toMatchObject({ code: 'EEXIST', syscall: 'semget', path: `0x${key.toString(16).padStart(8, '0')}` });
    const again = track(SysVSemaphoreSet.open(key));
    expect(again).toMatchObject({ created: false, id: created.id, count: 3 });
    const either = track(SysVSemaphoreSet.openOrCreate(key, { count: 2 }));
    expect(either).toMatchObject({ created: false, id: created.id, count: 3 });
    // A set smaller than asked for is the kernel's EINVAL, not a surprise at the first op.
    expect(thrown(() => SysVSemaphoreSet.openOrCreate(key, { count: 4 }))).toMatchObject({ code: 'EINVAL', syscall: 'semget' });
  });

  test('open of a missing key fails with ENOENT; openOrCreate creates with the count and mode asked', () => {
    const key = sysvKey();
    expect(thrown(() => SysVSemaphoreSet.open(key))).toMatchObject({ code: 'ENOENT', syscall: 'semget' });
    const set = track(SysVSemaphoreSet.openOrCreate(key, { count: 5, mode: 0o640 }));
    expect(set).toMatchObject({ created: true, count: 5 });
    expect(set.stat()).toMatchObject({ count: 5, mode: 0o640 });
  });

  test('createPrivate makes a new keyless set each time; the largest count is SEMMSL', () => {
    const a = fresh();
    const b = fresh(SEMMSL);
    expect(a.key).toBe(0);
    expect(a.id).not.toBe(b.id);
    expect(b.count).toBe(SEMMSL);
    expect(kernelSets()).toContainEqual({ key: 0, id: b.id, mode: 0o600, count: SEMMSL });
  });

  test.each([
    ['zero (IPC_PRIVATE)', 0, 'ERR_INVALID_ARG_VALUE'],
    ['fractional', 1.5, 'ERR_OUT_OF_RANGE'],
    ['too large', 2 ** 33, 'ERR_OUT_OF_RANGE'],
    ['NaN', NaN, 'ERR_OUT_OF_RANGE'],
    ['string', '1234', 'ERR_INVALID_ARG_TYPE'],
  ])('refuses a %s key before any syscall', (_label, key, code) => {
    for (const call of [
      () => SysVSemaphoreSet.create(key as number, { count: 1 }),
      () => SysVSemaphoreSet.open(key as number),
      () => SysVSemaphoreSet.openOrCreate(key as number, { count: 1 }),
    ]) {
      expect(thrown(call).code).toBe(code);
    }
  });

  test('refuses a bad count or mode before any syscall', () => {
    const key = sysvKey();
    expect(thrown(() => SysVSemaphoreSet.create(key, undefined as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => SysVSemaphoreSet.create(key, {} as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => SysVSemaphoreSet.create(key, { count: 0 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => SysVSemaphoreSet.create(key, { count: SEMMSL + 1 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => SysVSemaphoreSet.openOrCreate(key, { count: 1.5 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => SysVSemaphoreSet.createPrivate({ count: 1, mode: 0o1000 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => SysVSemaphoreSet.createPrivate(null as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(kernelSets().some((s) => s.key === key)).toBe(false);
  });
});

describe('values and stat', () => {
  test("get / set / getAll / setAll read and write the kernel's values", () => {
    const set = fresh(3);
    set.set(1, 7);
    expect(set.get(1)).toBe(7);
    expect(set.getAll()).toEqual([0, 7, 0]);
    set.setAll([1, 2, 32767]);
    expect(set.getAll()).toEqual([1, 2, 32767]);
    expect([set.get(0), set.get(2)]).toEqual([1, 32767]);
    // ipcs, reading the kernel on its own, sees the same values.
    const ipcs = spawnSync('ipcs', ['-s', '-i', String(set.id)], { encoding: 'utf8' });
    expect(ipcs.stdout).toMatch(/\n0\s+1\s/);
    expect(ipcs.stdout).toMatch(/\n2\s+32767\s/);
  });

  test('stat reports size, permissions, times, waiters and the last pid', async () => {
    // The kernel's times are whole seconds of the same wall clock, read after `before`.
    const before = Math.floor(Date.now() / 1000) * 1000;
    const set = fresh(2);
    let stat = set.stat();
    expect(stat).toMatchObject({
      count: 2,
      mode: 0o600,
      uid: process.getuid!(),
      gid: process.getgid!(),
      cuid: process.getuid!(),
      cgid: process.getgid!(),
      lastOpTime: null,
    });
    expect(stat.changeTime!.getTime()).toBeGreaterThanOrEqual(before);
    expect(stat.waiters).toEqual([
      { index: 0, forIncrease: 0, forZero: 0, lastPid: 0 },
      { index: 1, forIncrease: 0, forZero: 0, lastPid: 0 },
    ]);
    expect(set.tryOp([V(1)])).toBe(true);
    stat = set.stat();
    expect(stat.lastOpTime!.getTime()).toBeGreaterThanOrEqual(before);
    expect(stat.waiters[1].lastPid).toBe(process.pid);
    expect(stat.waiters[0].lastPid).toBe(0);
    // While an op of ours waits for semaphore 0 to grow, and another for semaphore 1 to be zero.
    const increase = set.op([P(0)]);
    const zero = set.op([{ index: 1, delta: 0 }]);
    await waitersReach(set, 0, 1);
    await waitersReach(set, 1, 1, 'forZero');
    expect(set.stat().waiters).toEqual([
      { index: 0, forIncrease: 1, forZero: 0, lastPid: 0 },
      { index: 1, forIncrease: 0, forZero: 1, lastPid: process.pid },
    ]);
    set.setAll([1, 0]);
    await Promise.all([increase, zero]);
    expect(set.stat().waiters.map((w) => w.forIncrease + w.forZero)).toEqual([0, 0]);
  });

  test('values, indexes and arrays are checked before any syscall', () => {
    const set = fresh(2);
    expect(thrown(() => set.get(2)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => set.get(-1)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => set.get('0' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => set.set(0, 32768)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => set.set(0, -1)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => set.set(0, 0.5)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => set.setAll([1])).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => set.setAll([1, 2, 3])).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => set.setAll([1, 40000])).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => set.setAll('12' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(set.getAll()).toEqual([0, 0]);
    expect(set.stat().changeTime).not.toBeNull();
  });
});

describe('operations', () => {
  test('a multi-op that cannot complete as a whole changes nothing; once it can, all of it applies', async () => {
    const set = fresh(3);
    set.setAll([1, 0, 5]);
    const ops = [P(0), P(1), { index: 2, delta: 3 }];
    expect(set.tryOp(ops)).toBe(false);
    expect(set.getAll()).toEqual([1, 0, 5]);
    expect((await rejection(set.op(ops, { timeout: 30 }))).code).toBe(ErrorCodes.TIMEOUT);
    expect(set.getAll()).toEqual([1, 0, 5]);
    const waiting = set.op(ops);
    await waitersReach(set, 1, 1);
    set.set(0, 2); // not enough: semaphore 1 is still 0
    expect(await pending(waiting)).toBe(true);
    expect(set.getAll()).toEqual([2, 0, 5]);
    set.set(1, 1);
    await waiting;
    expect(set.getAll()).toEqual([1, 0, 8]);
    expect(set.tryOp([P(0), P(0)])).toBe(false); // both from the same semaphore: needs 2
    expect(set.tryOp([P(2), P(2), V(0)])).toBe(true);
    expect(set.getAll()).toEqual([2, 0, 6]);
  });

  test('delta 0 waits for zero', async () => {
    const set = fresh();
    set.set(0, 2);
    expect(set.tryOp([{ index: 0, delta: 0 }])).toBe(false);
    let done = false;
    const zero = set.op([{ index: 0, delta: 0 }]).then(() => (done = true));
    await waitersReach(set, 0, 1, 'forZero');
    expect(set.tryOp([P()])).toBe(true);
    expect(await pending(zero)).toBe(true);
    expect(done).toBe(false);
    expect(set.tryOp([P()])).toBe(true);
    await zero;
    expect(set.tryOp([{ index: 0, delta: 0 }])).toBe(true);
    set.opSync([{ index: 0, delta: 0 }]);
  });

  test('noWait fails the whole call with EAGAIN instead of waiting; tryOp says false; nothing applies', async () => {
    const set = fresh(2);
    set.set(1, 4);
    const ops = [V(1), P(0, { noWait: true })];
    expect(await rejection(set.op(ops))).toMatchObject({ code: 'EAGAIN', syscall: 'semop', path: 'IPC_PRIVATE' });
    expect(thrown(() => set.opSync(ops, { timeout: 1000 }))).toMatchObject({ code: 'EAGAIN', syscall: 'semop' });
    expect(set.tryOp(ops)).toBe(false);
    expect(set.tryOp([P(0)])).toBe(false);
    expect(set.getAll()).toEqual([0, 4]);
    set.set(0, 1);
    await set.op(ops);
    expect(set.getAll()).toEqual([0, 5]);
  });

  test('an op waits for a post from another process', async () => {
    const key = sysvKey();
    const set = track(SysVSemaphoreSet.create(key, { count: 2 }));
    const waiting = set.op([P(1)]);
    const poster = await run(process.execPath, [
      '-e',
      `
      const { SysVSemaphoreSet } = require(${packageDir});
      setTimeout(() => SysVSemaphoreSet.open(${key}).op([{ index: 1, delta: 1 }]), 100);
    `,
    ]);
    expect(poster).toMatchObject({ code: 0, stderr: '' });
    await waiting;
    expect(set.getAll()).toEqual([0, 0]);
  });

  test('opSync applies at once when it can, waits on the thread for a post, and times out with nothing applied', async () => {
    const set = fresh();
    set.set(0, 1);
    set.opSync([P()]);
    expect(set.get(0)).toBe(0);
    // Not early: a lower bound on the monotonic clock (the wait's own), 1 ms for rounding.
    const started = performance.now();
    expect(thrown(() => set.opSync([P()], { timeout: 80 })).code).toBe(ErrorCodes.TIMEOUT);
    expect(performance.now() - started).toBeGreaterThanOrEqual(79);
    expect(thrown(() => set.opSync([P()], { timeout: 0 })).code).toBe(ErrorCodes.TIMEOUT);
    expect(set.stat().waiters[0].forIncrease).toBe(0);
    // A post from another process ends a blocking wait of this thread (the child is started
    // before the thread blocks, and posts on its own). The semaphore is 0 and only the child
    // posts, so the -1 here can only have been applied after the child's +1: the kernel's last
    // operator is this process, and the value is back at 0 once the child is gone.
    const key = sysvKey();
    const shared = track(SysVSemaphoreSet.create(key, { count: 1 }));
    const poster = run(process.execPath, [
      '-e',
      `
      const { SysVSemaphoreSet } = require(${packageDir});
      setTimeout(() => SysVSemaphoreSet.open(${key}).tryOp([{ index: 0, delta: 1 }]), 150);
    `,
    ]);
    expect(shared.get(0)).toBe(0);
    shared.opSync([P()], { timeout: 10000 });
    expect(shared.stat().waiters[0].lastPid).toBe(process.pid);
    expect(await poster).toMatchObject({ code: 0, stderr: '' });
    expect(shared.get(0)).toBe(0);
    expect(shared.stat().waiters[0].lastPid).toBe(process.pid);
  });

  test('a blocking opSync in a worker thread is woken by the main thread', async () => {
    const key = sysvKey();
    track(SysVSemaphoreSet.create(key, { count: 1 }));
    const result = await run(process.execPath, [path.join(fixtures, 'sem-worker.js'), String(key)], { timeout: 20000 });
    expect(result).toMatchObject({ code: 0, stdout: 'woke\njoined\n', stderr: '' });
  });
});

describe('waiting: timeouts, aborts, close, removal', () => {
  test('an op times out with ERR_IPC_TIMEOUT and nothing applied; timeout 0 never waits', async () => {
    const set = fresh(2);
    // Not early: a lower bound on the monotonic clock (the timer's own), 1 ms for rounding.
    const started = performance.now();
    expect((await rejection(set.op([V(1), P(0)], { timeout: 50 }))).code).toBe(ErrorCodes.TIMEOUT);
    expect(performance.now() - started).toBeGreaterThanOrEqual(49);
    expect(set.getAll()).toEqual([0, 0]);
    expect(set.stat().waiters[0].forIncrease).toBe(0);
    expect((await rejection(set.op([P(0)], { timeout: 0 }))).code).toBe(ErrorCodes.TIMEOUT);
    set.set(0, 1);
    await set.op([P(0)], { timeout: 0 });
    expect(set.get(0)).toBe(0);
  });

  test('an AbortSignal cancels a waiting op with ERR_IPC_ABORTED; an aborted one never starts', async () => {
    const set = fresh();
    const controller = new AbortController();
    const waiting = rejection(set.op([P()], { signal: controller.signal }));
    await waitersReach(set, 0, 1);
    controller.abort();
    expect((await waiting).code).toBe(ErrorCodes.ABORTED);
    expect(set.stat().waiters[0].forIncrease).toBe(0);
    set.set(0, 1);
    expect((await rejection(set.op([P()], { signal: AbortSignal.abort() }))).code).toBe(ErrorCodes.ABORTED);
    expect(set.get(0)).toBe(1);
  });

  test('close settles pending ops with ERR_IPC_CLOSED; later use is refused; close is idempotent', async () => {
    const set = fresh(2);
    const ops = [rejection(set.op([P(0)])), rejection(set.op([{ index: 1, delta: 0 }, P(1)])), rejection(set.op([P(1)], { timeout: 10000 }))];
    await waitersReach(set, 1, 2);
    set.close();
    set.close();
    expect(set.closed).toBe(true);
    for (const error of await Promise.all(ops)) expect(error.code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => set.tryOp([V()])).code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => set.opSync([V()])).code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => set.get(0)).code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => set.getAll()).code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => set.stat()).code).toBe(ErrorCodes.CLOSED);
    expect((await rejection(set.op([V()]))).code).toBe(ErrorCodes.CLOSED);
    // The set itself stays, and nothing was applied to it.
    const other = track(SysVSemaphoreSet.createPrivate({ count: 1 }));
    expect(kernelSets().find((s) => s.id === set.id)).toMatchObject({ count: 2 });
    expect(other.id).not.toBe(set.id);
  });

  test('Symbol.dispose closes the handle', async () => {
    let escaped: SysVSemaphoreSet;
    let waiting: Promise<NodeJS.ErrnoException>;
    {
      using set = fresh();
      escaped = set;
      waiting = rejection(set.op([P()]));
    }
    expect(escaped.closed).toBe(true);
    expect((await waiting).code).toBe(ErrorCodes.CLOSED);
  });

  test('removing the set from another process ends a pending op here with EIDRM', async () => {
    const key = sysvKey();
    const set = track(SysVSemaphoreSet.create(key, { count: 1 }));
    const waiting = rejection(set.op([P()]));
    await waitersReach(set, 0, 1);
    const remover = await run(process.execPath, ['-e', `require(${packageDir}).SysVSemaphoreSet.open(${key}).remove()`]);
    expect(remover).toMatchObject({ code: 0, stderr: '' });
    expect(await waiting).toMatchObject({ code: 'EIDRM', syscall: 'semop' });
    expect(thrown(() => set.tryOp([V()]))).toMatchObject({ code: 'EINVAL', syscall: 'semop' });
    expect(thrown(() => set.remove())).toMatchObject({ code: 'EINVAL', syscall: 'semctl' });
  });

  test('no post is lost when ops time out just as posts arrive', async () => {
    const set = fresh();
    const posts = 400;
    let posted = 0;
    let taken = 0;
    const poster = setInterval(() => {
      for (let i = 0; i < 3 && posted < posts; i++, posted++) set.tryOp([V()]);
      if (posted >= posts) clearInterval(poster);
    }, 1);
    while (posted < posts) {
      try {
        await set.op([P()], { timeout: Math.random() < 0.5 ? 0 : 1 });
        taken++;
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe(ErrorCodes.TIMEOUT);
      }
    }
    while (set.tryOp([P()])) taken++;
    expect(taken).toBe(posts);
    expect(set.get(0)).toBe(0);
  });
});

describe('bad arguments', () => {
  test("are refused with Node's codes before any syscall", async () => {
    const set = fresh(2);
    set.set(0, 3);
    const cases: [unknown, string][] = [
      [undefined, 'ERR_INVALID_ARG_TYPE'],
      [{ index: 0, delta: 1 }, 'ERR_INVALID_ARG_TYPE'],
      [[], 'ERR_INVALID_ARG_VALUE'],
      [Array.from({ length: SEMOPM + 1 }, () => V(0)), 'ERR_INVALID_ARG_VALUE'],
      [[null], 'ERR_INVALID_ARG_TYPE'],
      [[V(0), 'x'], 'ERR_INVALID_ARG_TYPE'],
      [[{ index: 2, delta: 1 }], 'ERR_OUT_OF_RANGE'],
      [[{ index: -1, delta: 1 }], 'ERR_OUT_OF_RANGE'],
      [[{ index: 0.5, delta: 1 }], 'ERR_OUT_OF_RANGE'],
      [[{ delta: 1 }], 'ERR_INVALID_ARG_TYPE'],
      [[{ index: 0 }], 'ERR_INVALID_ARG_TYPE'],
      [[{ index: 0, delta: 1.5 }], 'ERR_OUT_OF_RANGE'],
      [[{ index: 0, delta: 32768 }], 'ERR_OUT_OF_RANGE'],
      [[{ index: 0, delta: -32769 }], 'ERR_OUT_OF_RANGE'],
      [[{ index: 0, delta: '1' }], 'ERR_INVALID_ARG_TYPE'],
      [[V(1), { index: 0, delta: -1, undo: 1 }], 'ERR_INVALID_ARG_TYPE'],
      [[V(1), { index: 0, delta: -1, noWait: 'yes' }], 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [ops, code] of cases) {
      expect([ops, (await rejection(set.op(ops as never))).code]).toEqual([ops, code]);
      expect([ops, thrown(() => set.tryOp(ops as never)).code]).toEqual([ops, code]);
      expect([ops, thrown(() => set.opSync(ops as never)).code]).toEqual([ops, code]);
    }
    expect((await rejection(set.op([P()], { timeout: -1 }))).code).toBe('ERR_OUT_OF_RANGE');
    expect((await rejection(set.op([P()], { timeout: NaN }))).code).toBe('ERR_OUT_OF_RANGE');
    expect((await rejection(set.op([P()], { signal: {} as AbortSignal }))).code).toBe('ERR_INVALID_ARG_TYPE');
    expect((await rejection(set.op([P()], null as never))).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => set.opSync([P()], { timeout: '5' as never })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => set.opSync([P()], { signal: new AbortController().signal } as never)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(set.getAll()).toEqual([3, 0]);
    expect(set.stat().lastOpTime).toBeNull(); // no semop ever succeeded on the set
    // SEMOPM operations are allowed (the kernel's limit, not ours).
    expect(set.tryOp(Array.from({ length: SEMOPM }, () => ({ index: 1, delta: 0 })))).toBe(true);
    expect(set.stat().lastOpTime).not.toBeNull();
  });
});

describe('across users and process lifetime', () => {
  test('opening a set without read and write permission fails with EACCES from semget', async () => {
    const key = sysvKey();
    const owner = track(SysVSemaphoreSet.create(key, { count: 1 }));
    const readOnly = track(SysVSemaphoreSet.create(key + 1, { count: 1, mode: 0o644 }));
    const open = track(SysVSemaphoreSet.create(key + 2, { count: 2, mode: 0o666 }));
    open.setAll([4, 5]);
    expect(owner.created && readOnly.created).toBe(true);
    if (!isRoot) {
      // Without root, only our own mode bits can be tested.
      const noAccess = track(SysVSemaphoreSet.create(key + 3, { count: 1, mode: 0o400 }));
      expect(thrown(() => SysVSemaphoreSet.open(noAccess.key))).toMatchObject({ code: 'EACCES', syscall: 'semget' });
      return;
    }
    const stage = stagePackage();
    try {
      const denied = await runAsNobody(stage, 'sem-nobody.js', ['open', String(key)]);
      expect(JSON.parse(denied.stdout)).toEqual({ code: 'EACCES', syscall: 'semget' });
      // Read permission alone is not enough: a handle must be able to operate.
      const readable = await runAsNobody(stage, 'sem-nobody.js', ['open', String(key + 1)]);
      expect(JSON.parse(readable.stdout)).toEqual({ code: 'EACCES', syscall: 'semget' });
      const allowed = await runAsNobody(stage, 'sem-nobody.js', ['open', String(key + 2)]);
      expect(JSON.parse(allowed.stdout)).toEqual({ opened: true, values: [4, 5] });
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  });

  test("a pending op on an unref()'d set lets the process exit; a referenced one keeps it alive", async () => {
    // What the op was doing when the process exited tells which: an unref()'d process exits with
    // the op still pending (it would only settle at its timeout), a referenced one only once the
    // op has timed out. No clock involved.
    const script = (unref: boolean) => `
      const { SysVSemaphoreSet } = require(${packageDir});
      const set = SysVSemaphoreSet.createPrivate({ count: 1 });
      let op = 'pending';
      process.on('exit', () => { set.remove(); console.log('exited, op ' + op); });
      set.op([{ index: 0, delta: -1 }], { timeout: 1500 }).then(() => (op = 'applied'), (e) => (op = e.code));
      ${unref ? 'set.unref();' : ''}
    `;
    const unrefd = await run(process.execPath, ['-e', script(true)], { timeout: 10000 });
    expect(unrefd).toMatchObject({ code: 0, stdout: 'exited, op pending\n' });
    const refd = await run(process.execPath, ['-e', script(false)], { timeout: 10000 });
    expect(refd).toMatchObject({ code: 0, stdout: 'exited, op ERR_IPC_TIMEOUT\n' });
    // ref() after unref() keeps it alive again.
    const reref = await run(process.execPath, ['-e', script(true).replace('set.unref();', 'set.unref().ref();')], { timeout: 10000 });
    expect(reref).toMatchObject({ code: 0, stdout: 'exited, op ERR_IPC_TIMEOUT\n' });
  });
});

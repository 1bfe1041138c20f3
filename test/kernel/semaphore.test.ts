// POSIX named semaphores against the kernel: semantics, waits, timeouts on the monotonic clock,
// and every error path.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, Semaphore } from '../../lib';
import { compileC, isRoot, preloadWith, repoRoot, run, runAsNobody, runNode, scratchDir, stagePackage, thrown, uniqueName } from '../helpers';

const root = JSON.stringify(repoRoot);
const names: string[] = [];
const opened: Semaphore[] = [];
afterEach(() => {
  for (const sem of opened.splice(0)) sem.close();
  for (const name of names.splice(0)) {
    try {
      Semaphore.unlink(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
});

/** A fresh name, unlinked after the test. */
function newName(tag = 'sem'): string {
  const name = uniqueName(tag);
  names.push(name);
  return name;
}
function track(sem: Semaphore): Semaphore {
  opened.push(sem);
  return sem;
}
const fresh = (initial = 0) => track(Semaphore.create(newName(), { initial }));
/** The file glibc keeps a named semaphore in. */
const semFile = (name: string) => `/dev/shm/sem.${name.replace(/^\//, '')}`;
const fileMode = (name: string) => fs.statSync(semFile(name)).mode & 0o777;
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error) => error as NodeJS.ErrnoException,
  );
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function withUmask<T>(mask: number, fn: () => T): T {
  const previous = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(previous);
  }
}

describe('create / open / openOrCreate / unlink', () => {
  test('create is exclusive; "x" and "/x" are one semaphore, the file C opens with sem_open("/x")', () => {
    const name = newName();
    const bare = name.slice(1);
    const sem = track(Semaphore.create(bare, { initial: 3 }));
    expect(sem.name).toBe(name);
    expect(sem.created).toBe(true);
    expect(sem.value).toBe(3);
    expect(fs.existsSync(semFile(name))).toBe(true);
    expect(thrown(() => Semaphore.create(name))).toMatchObject({ code: 'EEXIST', syscall: 'sem_open', path: name });
    const other = track(Semaphore.open(name));
    expect(other.created).toBe(false);
    other.post();
    expect(sem.value).toBe(4);
    const either = track(Semaphore.openOrCreate(bare, { initial: 9, mode: 0o666 }));
    expect(either.created).toBe(false);
    expect(either.value).toBe(4); // an existing semaphore keeps its value
  });

  test('open of a missing name fails with ENOENT; openOrCreate creates it with its initial value', () => {
    const name = newName();
    expect(thrown(() => Semaphore.open(name))).toMatchObject({ code: 'ENOENT', syscall: 'sem_open', path: name });
    const sem = track(Semaphore.openOrCreate(name, { initial: 2 }));
    expect(sem.created).toBe(true);
    expect(sem.value).toBe(2);
    expect(fileMode(name)).toBe(0o600);
  });

  test('mode is applied exactly under umask 077, and only by the call that created the semaphore', () => {
    const [a, b, c] = [newName(), newName(), newName()];
    withUmask(0o077, () => {
      track(Semaphore.create(a, { mode: 0o644 }));
      track(Semaphore.openOrCreate(b, { mode: 0o660 }));
      track(Semaphore.create(c));
      expect(fileMode(a)).toBe(0o644);
      expect(fileMode(b)).toBe(0o660);
      expect(fileMode(c)).toBe(0o600);
      fs.chmodSync(semFile(c), 0o640);
      track(Semaphore.openOrCreate(c, { mode: 0o666 }));
      expect(fileMode(c)).toBe(0o640);
    });
  });

  test('unlink removes the name; open handles keep working; a second unlink fails with ENOENT from sem_unlink', async () => {
    const name = newName();
    const sem = track(Semaphore.create(name));
    const other = track(Semaphore.open(name));
    const pending = other.wait({ timeout: 5000 });
    Semaphore.unlink(name);
    expect(fs.existsSync(semFile(name))).toBe(false);
    expect(thrown(() => Semaphore.open(name)).code).toBe('ENOENT');
    sem.post();
    await pending;
    expect(thrown(() => Semaphore.unlink(name))).toMatchObject({ code: 'ENOENT', syscall: 'sem_unlink', path: name });
    // A new semaphore under the same name is a different one.
    const again = track(Semaphore.create(name, { initial: 5 }));
    expect(sem.value).toBe(0);
    expect(again.value).toBe(5);
    again.close();
    again.unlink(); // allowed after close()
    expect(fs.existsSync(semFile(name))).toBe(false);
  });

  test('initial goes up to SEM_VALUE_MAX; a post beyond it fails with EOVERFLOW from sem_post', () => {
    expect(Semaphore.VALUE_MAX).toBe(2 ** 31 - 1);
    const sem = fresh(Semaphore.VALUE_MAX);
    expect(sem.value).toBe(Semaphore.VALUE_MAX);
    expect(thrown(() => sem.post())).toMatchObject({ code: 'EOVERFLOW', syscall: 'sem_post', path: sem.name });
    expect(sem.tryWait()).toBe(true);
    sem.post();
    expect(sem.value).toBe(Semaphore.VALUE_MAX);
  });
});

describe('post / tryWait / value / wait', () => {
  test('post and tryWait move the value; tryWait at 0 says false and leaves it', () => {
    const sem = fresh(1);
    expect(sem.tryWait()).toBe(true);
    expect(sem.value).toBe(0);
    expect(sem.tryWait()).toBe(false);
    expect(sem.value).toBe(0);
    for (let i = 0; i < 5; i++) sem.post();
    expect(sem.value).toBe(5);
  });

  test('wait takes at once when it can; timeout 0 never waits; a wait times out with ERR_IPC_TIMEOUT', async () => {
    const sem = fresh(2);
    await sem.wait();
    await sem.wait({ timeout: 0 });
    expect(sem.value).toBe(0);
    expect((await rejection(sem.wait({ timeout: 0 }))).code).toBe(ErrorCodes.TIMEOUT);
    // Not early: a lower bound on the monotonic clock (the timer's own), 1 ms for rounding.
    const started = performance.now();
    expect((await rejection(sem.wait({ timeout: 100 }))).code).toBe(ErrorCodes.TIMEOUT);
    expect(performance.now() - started).toBeGreaterThanOrEqual(99);
    expect(sem.value).toBe(0);
  });

  test('a wait resolves when another Node process posts', async () => {
    const name = newName();
    const sem = track(Semaphore.create(name));
    let woke = false;
    const pending = sem.wait({ timeout: 10000 }).then(() => (woke = true));
    await delay(100);
    expect(woke).toBe(false);
    const poster = await runNode('named-sem-peer.js', ['post', name]);
    expect(poster).toMatchObject({ code: 0, stdout: 'posted 1\n', stderr: '' });
    await pending;
    expect(woke).toBe(true);
    expect(sem.value).toBe(0);
  });

  test('waitSync takes, times out with ERR_IPC_TIMEOUT, and is woken by a post from another process', async () => {
    const name = newName();
    const sem = track(Semaphore.create(name, { initial: 1 }));
    sem.waitSync();
    expect(sem.value).toBe(0);
    expect(thrown(() => sem.waitSync({ timeout: 0 })).code).toBe(ErrorCodes.TIMEOUT);
    // Not early: a lower bound on the monotonic clock (the wait's own), 1 ms for rounding.
    const started = performance.now();
    expect(thrown(() => sem.waitSync({ timeout: 150 })).code).toBe(ErrorCodes.TIMEOUT);
    expect(performance.now() - started).toBeGreaterThanOrEqual(149);
    // The child runs on its own while this thread blocks (spawn returns once it is started). The
    // semaphore is 0 and only the child posts, once: when the child is gone and the value is
    // still 0, the unit waitSync took was the child's post.
    const poster = spawn(
      process.execPath,
      ['-e', `setTimeout(() => { const s = require(${root}).Semaphore.open(${JSON.stringify(name)}); s.post(); s.close(); }, 300)`],
      { stdio: 'ignore' },
    );
    const posterExit = once(poster, 'exit');
    sem.waitSync({ timeout: 20000 });
    expect(await posterExit).toEqual([0, null]);
    expect(sem.value).toBe(0);
  });

  test('an AbortSignal cancels a waiting wait with ERR_IPC_ABORTED; an aborted one never takes', async () => {
    const sem = fresh(0);
    const controller = new AbortController();
    const pending = rejection(sem.wait({ signal: controller.signal }));
    await delay(50);
    controller.abort();
    expect((await pending).code).toBe(ErrorCodes.ABORTED);
    // The stopped wait left sem_wait: this post stays for whoever comes next.
    sem.post();
    await delay(20);
    expect(sem.value).toBe(1);
    expect((await rejection(sem.wait({ signal: AbortSignal.abort() }))).code).toBe(ErrorCodes.ABORTED);
    expect(sem.value).toBe(1);
  });

  test('close settles pending waits with ERR_IPC_CLOSED, leaves the semaphore alone, and refuses later use', async () => {
    const name = newName();
    const sem = track(Semaphore.create(name));
    const waits = [rejection(sem.wait()), rejection(sem.wait({ timeout: 60000 })), rejection(sem.wait({ signal: new AbortController().signal }))];
    await delay(50); // every wait is inside sem_wait on a waiter thread
    sem.close();
    sem.close();
    expect(sem.closed).toBe(true);
    for (const error of await Promise.all(waits)) expect(error.code).toBe(ErrorCodes.CLOSED);
    const other = track(Semaphore.open(name));
    other.post();
    await delay(20);
    expect(other.value).toBe(1); // no stopped waiter took it
    expect(thrown(() => sem.post()).code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => sem.tryWait()).code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => sem.value).code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => sem.waitSync({ timeout: 0 })).code).toBe(ErrorCodes.CLOSED);
    expect((await rejection(sem.wait())).code).toBe(ErrorCodes.CLOSED);
    expect(sem.ref()).toBe(sem);
    expect(sem.unref()).toBe(sem);
  });

  test('closing a handle at every moment of its waits neither crashes nor loses a post', async () => {
    // Each round's handle is this process's only opening of the name when it closes, so glibc's
    // sem_close would unmap the semaphore under a waiter thread still inside sem_wait.
    const name = newName();
    Semaphore.create(name).close();
    let took = 0;
    let posted = 0;
    for (let round = 0; round < 300; round++) {
      const sem = Semaphore.open(name);
      const waits = [sem.wait(), sem.wait()].map((w) =>
        w.then(
          () => took++,
          (error) => expect(error.code).toBe(ErrorCodes.CLOSED),
        ),
      );
      if (round % 3 === 1) {
        const poster = Semaphore.open(name);
        poster.post();
        poster.close();
        posted++;
      }
      if (round % 4 === 2) await new Promise(setImmediate);
      if (round % 5 === 3) await delay(1);
      sem.close();
      await Promise.all(waits);
    }
    const check = track(Semaphore.open(name));
    expect(took + check.value).toBe(posted);
  });

  test('no post is lost when waits time out just as posts arrive', async () => {
    const name = newName();
    const sem = track(Semaphore.create(name));
    const poster = track(Semaphore.open(name));
    const total = 400;
    let posted = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < 3 && posted < total; i++, posted++) poster.post();
      if (posted >= total) clearInterval(timer);
    }, 1);
    let took = 0;
    while (posted < total) {
      try {
        await sem.wait({ timeout: Math.random() < 0.5 ? 0 : 1 });
        took++;
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe(ErrorCodes.TIMEOUT);
      }
    }
    while (sem.tryWait()) took++;
    expect(took).toBe(total);
  });
});

describe('bad arguments', () => {
  test.each([
    ['an empty name', '', 'ERR_INVALID_ARG_VALUE'],
    ['a lone slash', '/', 'ERR_INVALID_ARG_VALUE'],
    ['a slash inside', 'a/b', 'ERR_INVALID_ARG_VALUE'],
    ['a null byte', 'a\0b', 'ERR_INVALID_ARG_VALUE'],
    ['".."', '..', 'ERR_INVALID_ARG_VALUE'],
    ['252 bytes (with "sem." over NAME_MAX)', 'x'.repeat(252), 'ERR_INVALID_ARG_VALUE'],
    ['a number', 42, 'ERR_INVALID_ARG_TYPE'],
    ['null', null, 'ERR_INVALID_ARG_TYPE'],
  ])('%s is refused before any syscall', (_label, name, code) => {
    for (const call of [
      () => Semaphore.create(name as string),
      () => Semaphore.open(name as string),
      () => Semaphore.openOrCreate(name as string),
      () => Semaphore.unlink(name as string),
    ]) {
      expect(thrown(call).code).toBe(code);
    }
  });

  test('a 251-byte name is the longest glibc accepts', () => {
    const name = `/${'n'.repeat(251 - `${process.pid}`.length)}${process.pid}`;
    names.push(name);
    track(Semaphore.create(name)).post();
    expect(fs.existsSync(semFile(name))).toBe(true);
  });

  test("bad options are refused with Node's codes and create nothing", async () => {
    const name = newName();
    const cases: [unknown, string][] = [
      [{ initial: -1 }, 'ERR_OUT_OF_RANGE'],
      [{ initial: 1.5 }, 'ERR_OUT_OF_RANGE'],
      [{ initial: 2 ** 31 }, 'ERR_OUT_OF_RANGE'],
      [{ initial: '1' }, 'ERR_INVALID_ARG_TYPE'],
      [{ mode: 0o1000 }, 'ERR_OUT_OF_RANGE'],
      [{ mode: -1 }, 'ERR_OUT_OF_RANGE'],
      [null, 'ERR_INVALID_ARG_TYPE'],
      ['0o600', 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [options, code] of cases) {
      expect(thrown(() => Semaphore.create(name, options as never)).code).toBe(code);
      expect(thrown(() => Semaphore.openOrCreate(name, options as never)).code).toBe(code);
    }
    expect(fs.existsSync(semFile(name))).toBe(false);
    const sem = fresh(1);
    expect((await rejection(sem.wait({ timeout: -1 }))).code).toBe('ERR_OUT_OF_RANGE');
    expect((await rejection(sem.wait({ timeout: NaN }))).code).toBe('ERR_OUT_OF_RANGE');
    expect((await rejection(sem.wait({ timeout: '5' as never }))).code).toBe('ERR_INVALID_ARG_TYPE');
    expect((await rejection(sem.wait({ signal: {} as AbortSignal }))).code).toBe('ERR_INVALID_ARG_TYPE');
    expect((await rejection(sem.wait(null as never))).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => sem.waitSync({ timeout: -5 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => sem.waitSync({ timeout: 2 ** 31 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => sem.waitSync({ signal: new AbortController().signal } as never)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => sem.waitSync(7 as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(sem.value).toBe(1); // none of them took it
  });
});

describe('across users and process lifetime', () => {
  test('opening an owner-only semaphore as another user fails with EACCES from sem_open', async () => {
    const owned = newName();
    const shared = newName();
    track(Semaphore.create(owned, { mode: 0o600 }));
    const open = track(Semaphore.create(shared, { mode: 0o666 }));
    if (!isRoot) {
      fs.chmodSync(semFile(owned), 0);
      expect(thrown(() => Semaphore.open(owned))).toMatchObject({ code: 'EACCES', syscall: 'sem_open' });
      return;
    }
    const stage = stagePackage();
    try {
      const denied = await runAsNobody(stage, 'named-sem-peer.js', ['open-post', owned]);
      expect(JSON.parse(denied.stdout)).toEqual({ code: 'EACCES', syscall: 'sem_open', path: owned });
      const allowed = await runAsNobody(stage, 'named-sem-peer.js', ['open-post', shared]);
      expect(JSON.parse(allowed.stdout)).toEqual({ posted: true });
      expect(open.value).toBe(1);
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  });

  test("a pending wait on an unref()'d semaphore lets the process exit; a referenced one keeps it alive", async () => {
    const name = newName();
    track(Semaphore.create(name));
    // What the wait was doing when the process exited tells which: an unref()'d process exits
    // with the wait still pending (it would only settle at its timeout), a referenced one only
    // once the wait has timed out. No clock involved.
    const script = (unref: boolean) => `
      const { Semaphore } = require(${root});
      const sem = Semaphore.open(${JSON.stringify(name)});
      let wait = 'pending';
      process.on('exit', () => console.log('exited, wait ' + wait));
      sem.wait({ timeout: 1500 }).then(() => (wait = 'took'), (e) => (wait = e.code));
      ${unref ? 'sem.unref();' : ''}
    `;
    const unrefd = await run(process.execPath, ['-e', script(true)], { timeout: 10000 });
    expect(unrefd).toMatchObject({ code: 0, stdout: 'exited, wait pending\n', stderr: '' });
    const refd = await run(process.execPath, ['-e', script(false)], { timeout: 10000 });
    expect(refd).toMatchObject({ code: 0, stdout: 'exited, wait ERR_IPC_TIMEOUT\n', stderr: '' });
    // unref() then ref() again: referenced once more.
    const reref = await run(process.execPath, ['-e', `${script(true)}; sem.ref();`], { timeout: 10000 });
    expect(reref).toMatchObject({ code: 0, stdout: 'exited, wait ERR_IPC_TIMEOUT\n' });
  });

  test('worker threads: waitSync blocks a worker until the main thread posts; terminating a worker with waits pending releases its semaphore', async () => {
    const name = newName();
    track(Semaphore.create(name));
    const result = await runNode('named-sem-worker.js', [name], { timeout: 30000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    // The worker's waitSync ended only after the post: nothing came from it before.
    expect(report).toMatchObject({
      mappedBefore: 1,
      syncMessagesBeforePost: 0,
      sync: 'took',
      syncExit: 0,
      mappedAfterClose: 0,
      mappedWhileWorkerWaits: 1,
      mappedAfterTerminate: 0,
      valueAfter: 1,
    });
  });

  test('16 pending waits leave the libuv threadpool free: fs.readFile still completes', async () => {
    const name = newName();
    track(Semaphore.create(name));
    const dir = fs.mkdtempSync(path.join(scratchDir(), 'sem-threadpool-'));
    const result = await runNode('threadpool-child.js', ['semaphore', dir, name], {
      env: { ...process.env, UV_THREADPOOL_SIZE: '4' },
      timeout: 30000,
    });
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout);
    // The reads completed while all 16 waits were still pending.
    expect(report).toMatchObject({ readsDoneBeforeRelease: true, stillPending: 16 });
    expect(report.codes).toEqual(['ERR_IPC_CLOSED']);
  });
});

describe('timeouts run on the monotonic clock', () => {
  // With the wall clock an hour ahead of the kernel's (LD_PRELOAD shim), a wait whose deadline
  // is computed on the wall clock overshoots by an hour; one on the monotonic clock does not.
  const shim = () => compileC('realtime_ahead.c', ['-shared', '-fPIC', '-ldl']);
  const HOUR = 3600 * 1000; // AHEAD_SECONDS of test/c/realtime_ahead.c

  test('the shim moves the wall clock, and a CLOCK_REALTIME sem_timedwait under it overshoots (control)', async () => {
    const name = newName();
    track(Semaphore.create(name));
    const env = { ...process.env, LD_PRELOAD: preloadWith(shim()) };
    const before = Date.now();
    const clock = await run(process.execPath, ['-e', 'console.log(Date.now())'], { env });
    expect(Number(clock.stdout)).toBeGreaterThanOrEqual(before + HOUR); // read after `before`, an hour ahead
    expect(Number(clock.stdout)).toBeLessThanOrEqual(Date.now() + HOUR); // and before now
    const control = await run(compileC('sem_peer.c'), ['timedwait-realtime', name, '300'], { env, timeout: 2000 });
    expect(control.signal).toBe('SIGTERM'); // still waiting when killed, 1.7 s past its "300 ms"
  });

  test('waitSync and wait with timeout 300 time out, not early, with the wall clock an hour ahead', async () => {
    const name = newName();
    track(Semaphore.create(name));
    // Judged on the wall clock, either wait would overshoot by an hour; that they time out at all
    // (the child exits with both codes, long before any hour) is the proof, with no bound on how
    // late they are. The kill timeout only guards against that hour.
    const before = Date.now();
    const result = await runNode('named-sem-peer.js', ['monotonic', name, '300'], {
      env: { ...process.env, LD_PRELOAD: preloadWith(shim()) },
      timeout: 50000,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.wallClock).toBeGreaterThanOrEqual(before + HOUR); // the shim was in effect
    expect(report).toMatchObject({ syncCode: ErrorCodes.TIMEOUT, asyncCode: ErrorCodes.TIMEOUT });
    // Not early: lower bounds on the monotonic clock, 1 ms for rounding.
    expect(report.syncMs).toBeGreaterThanOrEqual(299);
    expect(report.asyncMs).toBeGreaterThanOrEqual(299);
  });
});

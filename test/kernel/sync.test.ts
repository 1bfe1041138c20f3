// Waits and locks inside shared memory: futex wait/wake, Mutex, Condition, Barrier. Every
// primitive is proved across processes and languages (Node, C through the public header
// ipckit/sync.h, Python through ctypes).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Barrier, Condition, ErrorCodes, Mutex, SharedMemory, wait, waitAsync, wake } from '../../lib';
import { compileC, eventually, fixtures, python, pythonDir, repoRoot, run, runNode, shmNames, thrown, type RunResult } from '../helpers';
import { spawn } from 'node:child_process';

const newName = shmNames('sync');
const cPeer = () => compileC('sync_peer.c', ['-D_GNU_SOURCE', '-I', path.join(repoRoot, 'native', 'include')]);
const pythonPeer = path.join(pythonDir, 'sync_peer.py');
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error) => error as NodeJS.ErrnoException,
  );

// Offsets used throughout: a mutex, a condition, a barrier, words and a counter.
const MUTEX = 0;
const COND = 64;
const BARRIER = 96;
const WORD = 128;
const COUNTER = 136;
const FLAG = 144;

function memory(): SharedMemory {
  return SharedMemory.create(newName(), { size: 4096 });
}

/** Starts a peer and resolves once it prints `line`; the result promise resolves at its exit. */
function startPeer(command: string, args: string[], line: string): Promise<{ done: Promise<RunResult>; pid: number; kill: () => void }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const done = new Promise<RunResult>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.split('\n').includes(line)) resolve({ done, pid: child.pid!, kill: () => child.kill('SIGKILL') });
    });
    child.on('error', reject);
    done.then((r) => reject(new Error(`peer exited before "${line}": ${r.stdout}${r.stderr}`)));
  });
}

// Wakes `word` until somebody was actually woken (the peer may not be asleep yet).
async function wakeUntilWoken(words: Int32Array, index: number): Promise<number> {
  let woken = 0;
  await eventually(`a waiter on word ${index} to wake`, () => (woken = wake(words, index)) > 0);
  return woken;
}

describe('wait / waitAsync / wake', () => {
  test('results: not-equal at once, timed-out after the timeout, ok when woken', async () => {
    using shm = memory();
    const words = shm.view(Int32Array);
    expect(wait(words, 0, 1)).toBe('not-equal');
    // Not early: a lower bound on the monotonic clock (the wait's own), 1 ms for rounding.
    const t0 = performance.now();
    expect(wait(words, 0, 0, { timeout: 50 })).toBe('timed-out');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(49);
    expect(await waitAsync(words, 0, 7)).toBe('not-equal');
    expect(await waitAsync(words, 0, 0, { timeout: 30 })).toBe('timed-out');
    expect(await waitAsync(words, 0, 0, { timeout: 0 })).toBe('timed-out');
    const pending = waitAsync(words, 3, 0);
    expect(await wakeUntilWoken(words, 3)).toBe(1); // the word stays 0: only the wake ends the wait
    expect(await pending).toBe('ok');
    expect(wake(words, 3)).toBe(0);
  });

  test('C wakes a Node waitAsync, and Node wakes a C wait', async () => {
    using shm = memory();
    const words = shm.view(Int32Array);
    const pending = waitAsync(words, WORD / 4, 0, { timeout: 10000 });
    // The C peer stores 0 (unchanged) and wakes; repeat until our waiter was asleep to be woken.
    let woke: RunResult | undefined;
    for (let i = 0; i < 200 && !woke?.stdout.startsWith('1'); i++) {
      woke = await run(cPeer(), ['wake', shm.name, String(WORD), '0']);
    }
    expect(woke!.stdout).toBe('1\n');
    expect(await pending).toBe('ok');

    Atomics.store(words, WORD / 4, 5);
    const waiter = await startPeer(cPeer(), ['wait', shm.name, String(WORD), '5', '10000'], 'ready');
    // The word stays 5, so the C waiter can only end by being woken (or timing out).
    expect(await wakeUntilWoken(words, WORD / 4)).toBe(1);
    expect((await waiter.done).stdout).toBe('ready\nok\n');
  });

  test('Python wakes a Node waitAsync, and Node wakes a Python wait (ctypes futex)', async () => {
    using shm = memory();
    const words = shm.view(Int32Array);
    const pending = waitAsync(words, WORD / 4, 0, { timeout: 10000 });
    let woke: RunResult | undefined;
    for (let i = 0; i < 200 && !woke?.stdout.startsWith('1'); i++) {
      woke = await run(python, [pythonPeer, 'wake', shm.name, String(WORD), '0']);
    }
    expect(woke!.stdout).toBe('1\n');
    expect(await pending).toBe('ok');
    Atomics.store(words, WORD / 4, 9);
    const waiter = await startPeer(python, [pythonPeer, 'wait', shm.name, String(WORD), '9', '10000'], 'ready');
    expect(await wakeUntilWoken(words, WORD / 4)).toBe(1);
    expect((await waiter.done).stdout).toBe('ready\nok\n');
  });

  test('a wait on memory that gets closed ends with ERR_IPC_CLOSED, and nothing crashes', async () => {
    const shm = memory();
    const words = shm.view(Int32Array);
    const pending = rejection(waitAsync(words, 0, 0));
    const other = rejection(waitAsync(words, 1, 0, { timeout: 60000 }));
    shm.close();
    expect((await pending).code).toBe(ErrorCodes.CLOSED);
    expect((await other).code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => wait(words, 0, 0)).code).toBe(ErrorCodes.CLOSED);
    expect(thrown(() => wake(words, 0)).code).toBe(ErrorCodes.CLOSED);
  });

  test('an AbortSignal rejects a waitAsync with ERR_IPC_ABORTED', async () => {
    using shm = memory();
    const words = shm.view(Int32Array);
    const controller = new AbortController();
    const pending = rejection(waitAsync(words, 0, 0, { signal: controller.signal }));
    controller.abort();
    expect((await pending).code).toBe(ErrorCodes.ABORTED);
    expect((await rejection(waitAsync(words, 0, 0, { signal: AbortSignal.abort() }))).code).toBe(ErrorCodes.ABORTED);
  });

  test('bad arguments are refused before any syscall', async () => {
    using shm = memory();
    const words = shm.view(Int32Array);
    expect(thrown(() => wait(new Int32Array(4), 0, 0)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => wait(shm.view(Uint32Array) as never, 0, 0)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => wait(words, words.length, 0)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => wait(words, -1, 0)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => wait(words, 0, 1.5)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => wait(words, 0, 0, { timeout: -1 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => wake(words, 0, -1)).code).toBe('ERR_OUT_OF_RANGE');
    expect((await rejection(waitAsync(words, 0, 'x' as never))).code).toBe('ERR_INVALID_ARG_TYPE');
  });
});

describe('Mutex', () => {
  test('create, open, lock, tryLock, unlock; open refuses memory that holds no mutex; placement is checked', async () => {
    using shm = memory();
    const mutex = Mutex.create(shm, MUTEX);
    expect(Mutex.SIZE).toBe(64);
    const other = Mutex.open(shm, MUTEX);
    expect(await mutex.lock()).toEqual({ ownerDied: false });
    expect(mutex.held).toBe(true);
    expect(mutex.tryLock()).toBe(false);
    expect(other.tryLock()).toBe(false); // same thread, other handle: the OS says this thread holds it
    mutex.unlock();
    expect(other.tryLock()).toBe(true);
    other.unlock();
    expect(thrown(() => Mutex.open(shm, 512)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => Mutex.create(shm, 4)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => Mutex.create(shm, 4096 - 32)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => Mutex.create({} as never, 0)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => Mutex.create(shm.buffer as never, 0)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => mutex.unlock()).code).toBe('ERR_IPC_MUTEX_NOT_OWNER');
    // A read-only handle's pages are private copies once written: no locks in them.
    using readOnly = SharedMemory.open(shm.name, { readOnly: true });
    expect(thrown(() => Mutex.open(readOnly, MUTEX)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => Condition.create(readOnly, COND)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => Barrier.create(readOnly, BARRIER, 2)).code).toBe('ERR_INVALID_ARG_VALUE');
  });

  test('lock() calls of one thread wait their turn; timeouts and aborts settle with their codes', async () => {
    using shm = memory();
    const mutex = Mutex.create(shm, MUTEX);
    await mutex.lock();
    const order: number[] = [];
    const second = mutex.lock().then(() => order.push(2));
    const timedOut = rejection(mutex.lock({ timeout: 30 }));
    const controller = new AbortController();
    const aborted = rejection(mutex.lock({ signal: controller.signal }));
    controller.abort();
    expect((await timedOut).code).toBe(ErrorCodes.TIMEOUT);
    expect((await aborted).code).toBe(ErrorCodes.ABORTED);
    order.push(1);
    mutex.unlock();
    await second;
    expect(order).toEqual([1, 2]);
    expect(thrown(() => mutex.lockSync()).code).toBe('ERR_IPC_MUTEX_HELD');
    mutex.unlock();
  });

  test('a holder in another process makes lock() wait and lockSync() time out; its death is reported as ownerDied', async () => {
    using shm = memory();
    const mutex = Mutex.create(shm, MUTEX);
    const holder = await startPeer(process.execPath, [path.join(fixtures, 'sync-peer.js'), 'mutex-hold', shm.name, String(MUTEX)], 'locked');
    expect(mutex.tryLock()).toBe(false);
    expect(thrown(() => mutex.lockSync({ timeout: 30 })).code).toBe(ErrorCodes.TIMEOUT);
    expect((await rejection(mutex.lock({ timeout: 30 }))).code).toBe(ErrorCodes.TIMEOUT);
    const waiting = mutex.lock();
    holder.kill();
    expect(await waiting).toEqual({ ownerDied: true });
    expect(mutex.ownerDied).toBe(true);
    mutex.markConsistent();
    mutex.unlock();
    expect(await mutex.lock()).toEqual({ ownerDied: false });
    mutex.unlock();
  });

  test('a C holder killed with SIGKILL: Node is told ownerDied; without markConsistent the mutex becomes unrecoverable', async () => {
    using shm = memory();
    const mutex = Mutex.create(shm, MUTEX);
    const holder = await startPeer(cPeer(), ['mutex-hold', shm.name, String(MUTEX)], 'locked');
    holder.kill();
    await holder.done;
    expect(mutex.lockSync()).toEqual({ ownerDied: true });
    mutex.unlock(); // not made consistent
    expect(thrown(() => mutex.lockSync()).code).toBe('ERR_IPC_MUTEX_NOT_RECOVERABLE');
    expect((await rejection(mutex.lock())).code).toBe('ERR_IPC_MUTEX_NOT_RECOVERABLE');
  });

  test('memory closed while a mutex in it is held stays mapped until unlock, so unlock works and nothing dangles', async () => {
    const shm = memory();
    const name = shm.name;
    const mutex = Mutex.create(shm, MUTEX);
    await mutex.lock();
    shm.close();
    const maps = () => fs.readFileSync('/proc/self/maps', 'utf8');
    expect(maps()).toContain(`/dev/shm${name}`);
    expect(thrown(() => mutex.tryLock()).code).toBe(ErrorCodes.CLOSED);
    await expect(mutex.lock()).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    mutex.unlock();
    expect(maps()).not.toContain(`/dev/shm${name}`);
    expect(thrown(() => mutex.unlock()).code).toBe(ErrorCodes.CLOSED);
  });

  test('a Node holder killed: C is told the owner died (the holder had closed its memory while holding the mutex)', async () => {
    using shm = memory();
    Mutex.create(shm, MUTEX);
    const holder = await startPeer(process.execPath, [path.join(fixtures, 'sync-peer.js'), 'mutex-hold', shm.name, String(MUTEX)], 'locked');
    holder.kill();
    await holder.done;
    expect((await run(cPeer(), ['mutex-lock', shm.name, String(MUTEX)])).stdout).toBe('owner-died\n');
    expect((await run(cPeer(), ['mutex-lock', shm.name, String(MUTEX)])).stdout).toBe('ok\n');
  });

  test('ownership belongs to the JS thread that locked: another thread can neither unlock nor take it', async () => {
    using shm = memory();
    const mutex = Mutex.create(shm, MUTEX);
    await mutex.lock();
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const { SharedMemory, Mutex } = require(${JSON.stringify(repoRoot)});
       const shm = SharedMemory.open(workerData);
       const m = Mutex.open(shm, 0);
       let unlock; try { m.unlock(); unlock = 'unlocked'; } catch (e) { unlock = e.code; }
       const tried = m.tryLock();
       let timed; try { m.lockSync({ timeout: 20 }); timed = 'locked'; } catch (e) { timed = e.code; }
       shm.close();
       parentPort.postMessage({ unlock, tried, timed });`,
      { eval: true, workerData: shm.name },
    );
    const report = await new Promise((resolve, reject) => worker.on('message', resolve).on('error', reject));
    expect(report).toEqual({ unlock: 'ERR_IPC_MUTEX_NOT_OWNER', tried: false, timed: ErrorCodes.TIMEOUT });
    mutex.unlock();
  });

  test('a worker thread that ends while holding the mutex: the main thread is told ownerDied', async () => {
    using shm = memory();
    const mutex = Mutex.create(shm, MUTEX);
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const { SharedMemory, Mutex } = require(${JSON.stringify(repoRoot)});
       const shm = SharedMemory.open(workerData);
       Mutex.open(shm, 0).lockSync();
       shm.close(); // still mapped: the mutex is held
       parentPort.postMessage('locked');
       setInterval(() => {}, 1000);`,
      { eval: true, workerData: shm.name },
    );
    await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    const waiting = mutex.lock({ timeout: 10000 });
    await worker.terminate();
    expect(await waiting).toEqual({ ownerDied: true });
    mutex.markConsistent();
    mutex.unlock();
  });

  test('closing the memory while lock() waits rejects it with ERR_IPC_CLOSED', async () => {
    const shm = memory();
    const mutex = Mutex.create(shm, MUTEX);
    const holder = await startPeer(cPeer(), ['mutex-hold', shm.name, String(MUTEX)], 'locked');
    try {
      const waiting = rejection(mutex.lock());
      await new Promise((r) => setTimeout(r, 20));
      shm.close();
      expect((await waiting).code).toBe(ErrorCodes.CLOSED);
      expect(thrown(() => mutex.tryLock()).code).toBe(ErrorCodes.CLOSED);
    } finally {
      holder.kill();
      await holder.done;
    }
  });
});

describe('contention: the final count is exact', () => {
  const N = 5000;
  const nodePeer = (...args: (string | number)[]) => runNode('sync-peer.js', args.map(String), { timeout: 120000 });

  test('Mutex: Node (lock and lockSync), C and Python processes increment one counter', async () => {
    using shm = memory();
    Mutex.create(shm, MUTEX);
    const results = await Promise.all([
      nodePeer('mutex-count', shm.name, MUTEX, COUNTER, N, 'async'),
      nodePeer('mutex-count', shm.name, MUTEX, COUNTER, N, 'sync'),
      run(cPeer(), ['mutex-count', shm.name, String(MUTEX), String(COUNTER), String(N)], { timeout: 120000 }),
      run(cPeer(), ['mutex-count', shm.name, String(MUTEX), String(COUNTER), String(N)], { timeout: 120000 }),
      run(python, [pythonPeer, 'mutex-count', shm.name, String(MUTEX), String(COUNTER), String(N / 5)], { timeout: 120000 }),
    ]);
    for (const r of results) expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(shm.view(Uint32Array, COUNTER, 1)[0]).toBe(4 * N + N / 5);
  });

  test('a futex lock written with wait/wake (sync and async) and the same lock in C', async () => {
    using shm = memory();
    const results = await Promise.all([
      nodePeer('futex-count', shm.name, WORD, COUNTER, N, 'sync'),
      nodePeer('futex-count', shm.name, WORD, COUNTER, N, 'async'),
      run(cPeer(), ['futex-count', shm.name, String(WORD), String(COUNTER), String(N)], { timeout: 120000 }),
      run(cPeer(), ['futex-count', shm.name, String(WORD), String(COUNTER), String(N)], { timeout: 120000 }),
    ]);
    for (const r of results) expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(shm.view(Uint32Array, COUNTER, 1)[0]).toBe(4 * N);
  });
});

describe('Condition', () => {
  test('C notifies a Node waiter; Node notifies a C waiter; timeouts re-acquire the mutex', async () => {
    using shm = memory();
    const mutex = Mutex.create(shm, MUTEX);
    const cond = Condition.create(shm, COND);
    const flag = shm.view(Int32Array, FLAG, 1);
    expect(Condition.SIZE).toBe(32);

    const nodeWaiter = await startPeer(
      process.execPath,
      [path.join(fixtures, 'sync-peer.js'), 'cond-wait', shm.name, String(MUTEX), String(COND), String(FLAG)],
      'ready',
    );
    // The waiter printed "ready" holding the mutex; the setter can only set the flag once the
    // waiter has released it inside wait(), so one notify is enough whatever the timing.
    const notified = await run(cPeer(), ['cond-set', shm.name, String(MUTEX), String(COND), String(FLAG), '7']);
    expect(notified.code).toBe(0);
    expect((await nodeWaiter.done).stdout).toBe('ready\nflag 7\n');

    flag[0] = 0;
    const cWaiter = await startPeer(cPeer(), ['cond-wait', shm.name, String(MUTEX), String(COND), String(FLAG)], 'ready');
    await mutex.lock();
    flag[0] = 3;
    cond.notifyAll();
    mutex.unlock();
    expect((await cWaiter.done).stdout).toBe('ready\nflag 3\n');

    await mutex.lock();
    expect(await cond.wait(mutex, { timeout: 20 })).toBe('timed-out');
    expect(mutex.held).toBe(true);
    expect(cond.waitSync(mutex, { timeout: 20 })).toBe('timed-out');
    mutex.unlock();
    await expect(cond.wait(mutex)).rejects.toMatchObject({ code: 'ERR_IPC_MUTEX_NOT_OWNER' });
  });
});

describe('Barrier', () => {
  test('two Node processes (async and sync) and a C process meet round after round; one serial party per round', async () => {
    using shm = memory();
    Barrier.create(shm, BARRIER, 3);
    const rounds = 200;
    const results = await Promise.all([
      runNode('sync-peer.js', ['barrier', shm.name, String(BARRIER), String(rounds), 'async'], { timeout: 60000 }),
      runNode('sync-peer.js', ['barrier', shm.name, String(BARRIER), String(rounds), 'sync'], { timeout: 60000 }),
      run(cPeer(), ['barrier', shm.name, String(BARRIER), String(rounds)], { timeout: 60000 }),
    ]);
    let serial = 0;
    for (const r of results) {
      expect(r).toMatchObject({ code: 0, stderr: '' });
      serial += Number(/serial (\d+)/.exec(r.stdout)![1]);
    }
    expect(serial).toBe(rounds);
  });

  test('a timed-out or aborted wait takes its arrival back, so the barrier stays usable', async () => {
    using shm = memory();
    const barrier = Barrier.create(shm, BARRIER, 2);
    expect(barrier.parties).toBe(2);
    expect((await rejection(barrier.wait({ timeout: 20 }))).code).toBe(ErrorCodes.TIMEOUT);
    expect(thrown(() => barrier.waitSync({ timeout: 20 })).code).toBe(ErrorCodes.TIMEOUT);
    const controller = new AbortController();
    const aborted = rejection(barrier.wait({ signal: controller.signal }));
    controller.abort();
    expect((await aborted).code).toBe(ErrorCodes.ABORTED);
    const both = await Promise.all([barrier.wait(), Barrier.open(shm, BARRIER).wait()]);
    expect(both.filter(Boolean)).toHaveLength(1);
    expect(thrown(() => Barrier.create(shm, BARRIER, 0)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => Barrier.open(shm, 1024)).code).toBe('ERR_INVALID_ARG_VALUE');
  });
});

// Every pending System V, semaphore or futex wait sits on a waiter thread of its own. When no
// thread can be had, the wait must fail with a coded error (EAGAIN), never abort the process,
// and the pool must go on working. The calls run in children (test/fixtures/waiter-threads.js):
// a low process limit cannot be set on jest itself, and IPCKIT_MAX_WAITER_THREADS is read once.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Semaphore, SharedMemory, SysVMessageQueue } from '../../lib';
import { isRoot, run, runNode, stagePackage, sysvKey, uniqueName } from '../helpers';

// What a child made, removed after each test even if the child was killed before it could.
const names: string[] = [];
const keys: number[] = [];
afterEach(() => {
  for (const name of names.splice(0)) {
    for (const unlink of [Semaphore.unlink, SharedMemory.unlink]) {
      try {
        unlink(name);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
  for (const key of keys.splice(0)) {
    try {
      const queue = SysVMessageQueue.open(key);
      queue.remove();
      queue.close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
});
/** Two System V keys (KEY and KEY + 1) for a child's queues. */
function childKeys(): number {
  const key = sysvKey();
  keys.push(key, key + 1);
  return key;
}

test('1000 receives under a process limit of 60 threads: each waits or rejects with EAGAIN; close() settles the rest; nothing aborts', async () => {
  if (!isRoot) throw new Error('this test drops to an unprivileged user and needs root to do so');
  // RLIMIT_NPROC counts every thread of the real user across the machine, and root is exempt.
  // A uid of its own (no account has it) keeps other users' processes, nobody's included, out
  // of the count.
  const uid = 61000 + (process.pid % 1000);
  const stage = stagePackage();
  try {
    const script = path.join(stage, 'test/fixtures/waiter-threads.js');
    const result = await run('bash', ['-c', 'ulimit -u 60 && exec "$0" "$@"', process.execPath, script, 'receives', String(childKeys()), '1000'], {
      uid,
      gid: uid,
      cwd: stage,
      env: { ...process.env, IPCKIT_ROOT: stage },
      timeout: 60000,
    });
    expect({ signal: result.signal, code: result.code, stderr: result.stderr }).toEqual({ signal: null, code: 0, stderr: '' });
    const report = JSON.parse(result.stdout);
    expect(Object.keys(report.codes).sort()).toEqual(['EAGAIN', 'ERR_IPC_CLOSED']);
    // Some receives did wait (one took the message, close() stopped the others) and some found
    // no thread: the limit was in effect, and both paths ran.
    expect(report.resolved).toBe(1);
    expect(report.codes.ERR_IPC_CLOSED).toBeGreaterThan(0);
    expect(report.codes.EAGAIN).toBeGreaterThan(0);
    expect(report.resolved + report.codes.ERR_IPC_CLOSED + report.codes.EAGAIN).toBe(1000);
    expect(report.samples.EAGAIN).toEqual({
      code: 'EAGAIN',
      syscall: 'pthread_create',
      message: 'EAGAIN: resource temporarily unavailable, pthread_create',
    });
    expect(report.worker).toBe('EAGAIN');
    expect(report.after).toBe('after');
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
});

test('IPCKIT_MAX_WAITER_THREADS=8: the 9th concurrent wait (semaphore, queue or futex) rejects with EAGAIN naming the limit; the 8 work, and after they settle 8 more do', async () => {
  const name = uniqueName('waiter-cap');
  names.push(name);
  const result = await runNode('waiter-threads.js', ['cap', String(childKeys()), name, '8'], {
    env: { ...process.env, IPCKIT_MAX_WAITER_THREADS: '8' },
    timeout: 30000,
  });
  expect({ signal: result.signal, code: result.code, stderr: result.stderr }).toEqual({ signal: null, code: 0, stderr: '' });
  const report = JSON.parse(result.stdout);
  for (const extra of [report.extraWait, report.extraReceive, report.extraFutex]) {
    expect(extra).toMatchObject({ code: 'EAGAIN', syscall: 'pthread_create' });
    expect(extra.message).toMatch(/^EAGAIN: resource temporarily unavailable, pthread_create/);
    expect(extra.message).toContain('8 waiter threads');
    expect(extra.message).toContain('IPCKIT_MAX_WAITER_THREADS');
  }
  expect(report.shmMappedBefore).toBe(true); // the check below can see a mapping
  expect(report.shmMapped).toBe(false);
  expect(report.firstResults).toEqual(Array(8).fill('took'));
  expect(report.againResults).toEqual(Array(8).fill('took'));
  expect(report.received).toBe('x');
  expect(report.value).toBe(0);
});

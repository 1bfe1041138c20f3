// Semaphore sets across processes and languages: a lock shared by Node (Promise and blocking
// kinds) and C, the kernel's undo when a holder dies, and waits and posts both ways with C and
// with Python (Debian's python3-sysv-ipc).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { SharedMemory, SysVSemaphoreSet } from '../../lib';
import { compileC, eventually, kill, pythonDir, run, runNode, shmNames, startNode, sysvKey, type RunResult } from '../helpers';

const SYSV_PYTHON = '/usr/bin/python3'; // Debian's python3-sysv-ipc is installed for this one
const peerPy = path.join(pythonDir, 'sysv_sem_peer.py');
// A peer that loses a wake-up would wait for ever: every peer is killed after 30 s.
const LIMIT = { timeout: 30000 };
const newName = shmNames('sem');

const opened: SysVSemaphoreSet[] = [];
function create(count: number): SysVSemaphoreSet {
  const set = SysVSemaphoreSet.create(sysvKey(), { count });
  opened.push(set);
  return set;
}
afterEach(() => {
  for (const set of opened.splice(0)) {
    const { id } = set;
    set.close();
    spawnSync('ipcrm', ['-s', String(id)], { stdio: 'ignore' });
  }
});

function expectOk(result: RunResult, line: string) {
  expect(result.stderr).toBe('');
  expect(result.stdout).toBe(`${line}\n`);
  expect(result.code).toBe(0);
}

/** Resolves once the kernel counts `n` processes waiting for semaphore `index` to grow. */
function waitersReach(set: SysVSemaphoreSet, index: number, n: number): Promise<void> {
  return eventually(`semaphore ${index} has ${n} waiters`, () => set.stat().waiters[index].forIncrease === n);
}

test('a lock shared by 3 Node processes (op() and opSync()) and a C program counts exactly', async () => {
  const ITERATIONS = 20000;
  const set = create(1);
  set.set(0, 1); // the lock starts free
  const name = newName();
  using shm = SharedMemory.create(name, { size: 4096 });
  const counter = shm.view(Int32Array, 0, 1);
  const key = String(set.key);
  const results = await Promise.all([
    runNode('sem-peer.js', ['count', key, name, String(ITERATIONS), 'promise'], LIMIT),
    runNode('sem-peer.js', ['count', key, name, String(ITERATIONS), 'sync'], LIMIT),
    runNode('sem-peer.js', ['count', key, name, String(ITERATIONS), 'promise'], LIMIT),
    run(compileC('sysv_sem_peer.c'), ['count', key, name, String(ITERATIONS)], LIMIT),
  ]);
  for (const result of results) expectOk(result, `counted ${ITERATIONS}`);
  expect(counter[0]).toBe(4 * ITERATIONS);
  // Every taker gave the lock back, and every exit's undo balanced out.
  expect(set.get(0)).toBe(1);
  expect(new Set(set.stat().waiters.map((w) => w.lastPid))).not.toContain(0);
});

describe('a holder that dies', () => {
  test('with undo: the kernel gives its -1 back and the pending op here acquires', async () => {
    const set = create(1);
    set.set(0, 1);
    const holder = await startNode('sem-peer.js', ['hold', String(set.key), 'undo']);
    expect(set.get(0)).toBe(0);
    const acquire = set.op([{ index: 0, delta: -1, undo: true }], { timeout: 10000 });
    await waitersReach(set, 0, 1);
    expect(await kill(holder, 'SIGKILL')).toBe('SIGKILL');
    await acquire;
    expect(set.get(0)).toBe(0);
    expect(set.stat().waiters[0].lastPid).toBe(process.pid);
  });

  test('without undo (the control): nothing is given back and the op here keeps waiting', async () => {
    const set = create(1);
    set.set(0, 1);
    const holder = await startNode('sem-peer.js', ['hold', String(set.key), 'plain']);
    const controller = new AbortController();
    const acquire = set.op([{ index: 0, delta: -1 }], { signal: controller.signal });
    await waitersReach(set, 0, 1);
    // The kernel applies a dead process's undo before its parent can see it gone, so once the
    // exit is seen here, an undo would already have ended the op: the kernel still counting it as
    // a waiter, with the value at 0, is the proof, and no timer is involved.
    expect(await kill(holder, 'SIGKILL')).toBe('SIGKILL');
    expect(set.get(0)).toBe(0);
    expect(set.stat().waiters[0].forIncrease).toBe(1);
    controller.abort();
    await expect(acquire).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED' });
    expect(set.get(0)).toBe(0);
  });
});

describe.each([
  ['C', (...args: string[]) => run(compileC('sysv_sem_peer.c'), args, LIMIT), true],
  ['Python', (...args: string[]) => run(SYSV_PYTHON, [peerPy, ...args], LIMIT), false],
] as const)('Node and %s', (_label, peer, indexed) => {
  // sysv_ipc.Semaphore handles sets of one semaphore; the C peer is given the index.
  const count = indexed ? 3 : 1;
  const index = indexed ? 2 : 0;
  const args = (command: string, set: SysVSemaphoreSet) => (indexed ? [command, String(set.key), String(index)] : [command, String(set.key)]);

  test('Node waits, the peer posts and wakes it', async () => {
    const set = create(count);
    const waiting = set.op([{ index, delta: -1 }], { timeout: 20000 });
    await waitersReach(set, index, 1);
    expectOk(await peer(...args('post', set)), 'posted');
    await waiting;
    expect(set.getAll()).toEqual(new Array(count).fill(0));
  });

  test('the peer waits, Node posts and wakes it', async () => {
    const set = create(count);
    const waiter = peer(...args('wait', set));
    await waitersReach(set, index, 1);
    expect(set.stat().waiters[index].lastPid).toBe(0);
    await set.op([{ index, delta: 1 }]);
    expectOk(await waiter, 'woke');
    expect(set.getAll()).toEqual(new Array(count).fill(0));
    expect(set.stat().waiters[index].forIncrease).toBe(0);
  });
});

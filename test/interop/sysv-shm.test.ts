// System V shared memory across processes and languages: segments made by Node and read by C
// (shmat) and Python (sysv_ipc.SharedMemory), and the other way round; a counter that Node and C
// processes increment under a System V semaphore kept beside the segment; private segments
// reached by id; attachments of killed processes; removal while a peer is attached.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SysVSemaphoreSet, SysVSharedMemory } from '../../lib';
import { compileC, eventually, kill, pattern, pythonDir, run, runNode, startNode, sysvKey, type RunResult } from '../helpers';
import { spawn } from 'node:child_process';

const SYSV_PYTHON = '/usr/bin/python3'; // Debian's python3-sysv-ipc is installed for this one
const peerPy = path.join(pythonDir, 'sysv_shm_peer.py');
const LIMIT = { timeout: 60000 };

const ids: number[] = [];
const semIds: number[] = [];
afterEach(() => {
  for (const id of ids.splice(0)) spawnSync('ipcrm', ['-m', String(id)], { stdio: 'ignore' });
  for (const id of semIds.splice(0)) spawnSync('ipcrm', ['-s', String(id)], { stdio: 'ignore' });
});

function expectOk(result: RunResult, line: string | RegExp) {
  expect(result.stderr).toBe('');
  if (typeof line === 'string') expect(result.stdout).toBe(`${line}\n`);
  else expect(result.stdout).toMatch(line);
  expect(result.code).toBe(0);
}

const peerC = () => compileC('sysv_shm_peer.c');
const segmentExists = (id: number) =>
  fs
    .readFileSync('/proc/sysvipc/shm', 'utf8')
    .split('\n')
    .some((line) => line.trim().split(/\s+/)[1] === String(id));

describe('Node and C', () => {
  test('a segment Node creates and fills is the pattern to C (shmat read-only), at the kernel size', async () => {
    const key = sysvKey();
    using shm = SysVSharedMemory.create(key, { size: 70000 });
    ids.push(shm.id);
    pattern(70000, 5).copy(shm.buffer);
    // Two attachments while C checks: this handle and C's own.
    expectOk(await run(peerC(), ['check', String(key), '70000', '5'], LIMIT), `checked ${shm.id} 2`);
  });

  test('a segment C creates is opened by Node at its size; what Node writes, C reads', async () => {
    const key = sysvKey();
    const created = await run(peerC(), ['create', String(key), '12345', '11'], LIMIT);
    expectOk(created, /^created \d+\n$/);
    const id = Number(created.stdout.split(' ')[1]);
    ids.push(id);
    {
      using reader = SysVSharedMemory.open(key, { readOnly: true });
      expect(reader.id).toBe(id);
      expect(reader.size).toBe(12345);
      expect(reader.read().equals(pattern(12345, 11))).toBe(true);
      expect(reader.stat().creatorPid).not.toBe(process.pid);
    }
    // A second Node process rewrites it; C checks the new bytes.
    expectOk(await runNode('sysv-shm-peer.js', ['fill', String(key), '12'], LIMIT), 'filled 12345');
    expectOk(await run(peerC(), ['check', String(key), '12345', '12'], LIMIT), `checked ${id} 1`);
  });

  test('a counter beside a System V semaphore: 2 Node and 2 C processes add up exactly', async () => {
    const N = 20000;
    const key = sysvKey();
    using shm = SysVSharedMemory.create(key, { size: 4096 });
    ids.push(shm.id);
    const semKey = sysvKey();
    using set = SysVSemaphoreSet.create(semKey, { count: 1 });
    semIds.push(set.id);
    set.set(0, 1);
    const results = await Promise.all([
      runNode('sysv-shm-peer.js', ['count', String(key), String(semKey), String(N)], LIMIT),
      runNode('sysv-shm-peer.js', ['count', String(key), String(semKey), String(N)], LIMIT),
      run(peerC(), ['count', String(key), String(semKey), String(N)], LIMIT),
      run(peerC(), ['count', String(key), String(semKey), String(N)], LIMIT),
    ]);
    for (const result of results) expectOk(result, `counted ${N}`);
    expect(shm.view(Uint32Array, 0, 1)[0]).toBe(4 * N);
    expect(set.get(0)).toBe(1);
  });

  test('a C process attached then killed: the kernel detaches it, and stat() shows both', async () => {
    const key = sysvKey();
    using shm = SysVSharedMemory.create(key, { size: 4096 });
    ids.push(shm.id);
    const holder = spawn(peerC(), ['hold', String(key)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout!.on('data', (chunk) => String(chunk).includes('attached') && resolve()));
    const held = shm.stat();
    expect(held.attachCount).toBe(2);
    expect(held.lastPid).toBe(holder.pid);
    expect(await kill(holder)).toBe('SIGKILL');
    await eventually('the killed holder is detached', () => shm.stat().attachCount === 1);
    expect(shm.stat().lastPid).toBe(holder.pid);
  });

  test('removed while C is attached: gone for new opens, kept until C goes', async () => {
    const key = sysvKey();
    const shm = SysVSharedMemory.create(key, { size: 4096 });
    const { id } = shm;
    ids.push(id);
    const holder = spawn(peerC(), ['hold', String(key)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout!.on('data', (chunk) => String(chunk).includes('attached') && resolve()));
    shm.remove();
    shm.close();
    expect(segmentExists(id)).toBe(true);
    const opened = await run(peerC(), ['check', String(key), '4096', '0'], LIMIT);
    expect(opened.stderr).toMatch(/shmget: No such file or directory/);
    expect(opened.code).toBe(1);
    await kill(holder);
    await eventually('the segment is destroyed with its last attachment', () => !segmentExists(id));
  });
});

describe('Node and Python (sysv_ipc)', () => {
  test('Node creates and fills; Python attaches read-only and finds the pattern', async () => {
    const key = sysvKey();
    using shm = SysVSharedMemory.create(key, { size: 5000 });
    ids.push(shm.id);
    pattern(5000, 21).copy(shm.buffer);
    expectOk(await run(SYSV_PYTHON, [peerPy, 'check', String(key), '5000', '21'], LIMIT), `checked ${shm.id}`);
  });

  test('Python creates; Node opens it at its size and rewrites it; Python sees Node bytes', async () => {
    const key = sysvKey();
    const created = await run(SYSV_PYTHON, [peerPy, 'create', String(key), '9000', '22'], LIMIT);
    expectOk(created, /^created \d+\n$/);
    ids.push(Number(created.stdout.split(' ')[1]));
    {
      using shm = SysVSharedMemory.open(key);
      expect(shm.size).toBe(9000);
      expect(shm.buffer.equals(pattern(9000, 22))).toBe(true);
      pattern(9000, 23).copy(shm.buffer);
    }
    expectOk(await run(SYSV_PYTHON, [peerPy, 'check', String(key), '9000', '23'], LIMIT), /^checked \d+\n$/);
    // And Python writes into a live Node mapping, which sees it without reopening.
    using live = SysVSharedMemory.open(key);
    expectOk(await run(SYSV_PYTHON, [peerPy, 'fill', String(key), '24'], LIMIT), 'filled 9000');
    expect(live.buffer.equals(pattern(9000, 24))).toBe(true);
  });
});

describe('Node and Node', () => {
  test('a private segment reached by id from another Node process', async () => {
    using shm = SysVSharedMemory.createPrivate({ size: 3333 });
    ids.push(shm.id);
    expectOk(await runNode('sysv-shm-peer.js', ['attach-id', String(shm.id), '31'], LIMIT), 'filled 3333');
    expect(shm.buffer.equals(pattern(3333, 31))).toBe(true);
  });

  test('a Node holder killed with SIGKILL is detached by the kernel', async () => {
    const key = sysvKey();
    using shm = SysVSharedMemory.create(key, { size: 4096 });
    ids.push(shm.id);
    const holder = await startNode('sysv-shm-peer.js', ['hold', String(key)], 'attached');
    expect(shm.stat().attachCount).toBe(2);
    await kill(holder);
    await eventually('the killed Node holder is detached', () => shm.stat().attachCount === 1);
  });
});

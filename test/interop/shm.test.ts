// Two processes share bytes: Node and Node, Node and C, Node and Python, each way round, checking
// the size the other side sees and every byte.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SharedMemory } from '../../lib';
import { compileC, kill, pattern, python, pythonDir, run, runNode, shmNames, stagePackage, startNode } from '../helpers';

const newName = shmNames('interop');
const SIZE = 1_000_003; // odd on purpose: no rounding to pages anywhere
const SEED = 5;

describe('Node and Node', () => {
  test('a child creates and fills; this process opens and sees exactly its bytes', async () => {
    const name = newName();
    const result = await runNode('shm-peer.js', ['create', name, String(SIZE), String(SEED)]);
    expect(result).toMatchObject({ code: 0, stdout: `created ${name} ${SIZE}\n` });
    using shm = SharedMemory.open(name);
    expect(shm.size).toBe(SIZE);
    expect(shm.buffer.equals(pattern(SIZE, SEED))).toBe(true);
  });

  test('this process creates and fills; a child opens and checks', async () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: SIZE });
    shm.buffer.set(pattern(SIZE, SEED));
    const result = await runNode('shm-peer.js', ['check', name, String(SIZE), String(SEED)]);
    expect(result.stdout).toBe(`checked ${name} ${SIZE}\n`);
    expect(result.code).toBe(0);
  });

  test('writes by a live child show up in this process while both hold the mapping', async () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 65536 });
    expect(shm.buffer.every((b) => b === 0)).toBe(true);
    const child = await startNode('shm-peer.js', ['hold', name, '9']);
    try {
      expect(shm.buffer.equals(pattern(65536, 9))).toBe(true);
    } finally {
      await kill(child);
    }
  });
});

describe('Node and C', () => {
  const peer = compileC('shm_peer.c');

  test('C creates and fills with shm_open; Node opens it with the same size and bytes', async () => {
    const name = newName();
    const result = await run(peer, ['create', name, String(SIZE), String(SEED)]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    using shm = SharedMemory.open(name);
    expect(shm.size).toBe(SIZE);
    expect(shm.stat().mode & 0o777).toBe(0o600);
    expect(shm.buffer.equals(pattern(SIZE, SEED))).toBe(true);
  });

  test('Node creates and fills; C opens it with shm_open and checks size and bytes', async () => {
    const name = newName();
    using shm = SharedMemory.create(name.slice(1), { size: SIZE });
    shm.buffer.set(pattern(SIZE, SEED));
    const result = await run(peer, ['check', name, String(SIZE), String(SEED)]);
    expect(result.stdout).toBe(`checked ${name} ${SIZE} mode 600\n`);
    expect(result.code).toBe(0);
  });

  test('a corrupted byte is noticed by the C check (the check can fail)', async () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 4096 });
    shm.buffer.set(pattern(4096, SEED));
    shm.buffer[1234] ^= 0xff;
    const result = await run(peer, ['check', name, '4096', String(SEED)]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^byte 1234:/);
  });
});

describe('Node and Python (standard library multiprocessing.shared_memory)', () => {
  const script = path.join(pythonDir, 'shm_peer.py');

  test('Python creates and fills; Node opens it with the same size and bytes', async () => {
    const name = newName();
    const result = await run(python, [script, 'create', name.slice(1), String(SIZE), String(SEED)]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    using shm = SharedMemory.open(name);
    expect(shm.size).toBe(SIZE);
    expect(shm.buffer.equals(pattern(SIZE, SEED))).toBe(true);
  });

  test('Node creates and fills; Python opens it by the bare name and checks size and bytes', async () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: SIZE });
    shm.buffer.set(pattern(SIZE, SEED));
    const result = await run(python, [script, 'check', name.slice(1), String(SIZE), String(SEED)]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`checked ${name.slice(1)} ${SIZE}\n`);
    expect(result.code).toBe(0);
  });
});

describe('permissions across users', () => {
  test('opening an owner-only object as another user fails with EACCES from shm_open', async () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 64 });
    if (process.getuid!() !== 0) {
      // Not root: the same user can always open; lock the object down to prove the error path.
      fs.chmodSync(`/dev/shm${name}`, 0o000);
      expect(() => SharedMemory.open(name)).toThrow(expect.objectContaining({ code: 'EACCES', syscall: 'shm_open', path: name }));
      return;
    }
    const dir = stagePackage();
    try {
      const peer = path.join(dir, 'test/fixtures/shm-peer.js');
      const denied = await run(process.execPath, [peer, 'open', name], { uid: 65534, gid: 65534, env: { ...process.env, IPCKIT_ROOT: dir } });
      expect(denied.stderr).toBe('');
      expect(JSON.parse(denied.stdout)).toEqual({
        code: 'EACCES',
        syscall: 'shm_open',
        path: name,
        message: `EACCES: permission denied, shm_open '${name}'`,
      });
      // With the mode widened explicitly, the same user gets in.
      fs.chmodSync(`/dev/shm${name}`, 0o666);
      const allowed = await run(process.execPath, [peer, 'open', name], { uid: 65534, gid: 65534, env: { ...process.env, IPCKIT_ROOT: dir } });
      expect(JSON.parse(allowed.stdout)).toEqual({ opened: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Lifecycle: crashes, kill -9, garbage collection, worker threads.
import * as fs from 'node:fs';
import { SharedMemory, SysVMessageQueue } from '../../lib';
import { kill, pattern, runNode, shmExists, shmNames, startNode, sysvKey } from '../helpers';

const newName = shmNames('life');

test('a child killed with SIGKILL while it holds a mapping leaves the object intact and usable', async () => {
  const name = newName();
  SharedMemory.create(name, { size: 1 << 16 }).close();
  const child = await startNode('shm-peer.js', ['hold', name, '3']);
  expect(await kill(child, 'SIGKILL')).toBe('SIGKILL');
  expect(shmExists(name)).toBe(true);
  using shm = SharedMemory.open(name);
  expect(shm.size).toBe(1 << 16);
  expect(shm.buffer.equals(pattern(1 << 16, 3))).toBe(true);
  shm.buffer.fill(4);
  using again = SharedMemory.open(name);
  expect(again.buffer.every((b) => b === 4)).toBe(true);
});

test('a handle dropped without close() is finalized: descriptor and mapping released, name kept', async () => {
  const name = newName();
  const result = await runNode('gc-child.js', [name], { nodeArgs: ['--expose-gc'] });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({
    openAfterCreate: 1,
    mappedAfterCreate: true,
    released: true,
    nameKept: true,
    fdReleasedWithBufferHeld: true,
    stillMappedWithBufferHeld: true,
    bufferStillReadable: true,
    unmappedAfterBufferDropped: true,
    writeThroughKeptBuffer: true,
    noLeakAfterMany: true,
  });
  expect(shmExists(name)).toBe(true);
});

test('worker threads: the addon loads in two at once, maps there, and leaked handles are released when workers end', async () => {
  const name = newName();
  const result = await runNode('worker-child.js', [name]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report).toMatchObject({
    results: [{ sawSize: -1 }, { sawSize: 4096 }],
    slots: [1111, 2222],
    workerObjects: ['worker 0', 'worker 1'],
    fdsLeaked: 0,
    mappingsLeaked: 0,
    fdsLeakedAfterTerminate: 0,
    mappingsLeakedAfterTerminate: 0,
  });
  expect(report.openWhileRunning).toBeGreaterThanOrEqual(5);
  expect(fs.readdirSync('/dev/shm').filter((n) => n.startsWith(name.slice(1)))).toEqual([]);
});

test('workers ended or terminated with queue waits pending: waiter threads exit, descriptors close, queues stay usable', async () => {
  const result = await runNode('queue-worker-teardown.js', [], { timeout: 50000 });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report.threadsWhileWaiting).toBeGreaterThanOrEqual(5); // the worker and its 4 System V waiters
  expect(report).toMatchObject({ unrefExit: 0, threadsAfter: 0, fdsAfter: 0, sysvStillWorks: 'still fine', messagesLeft: 0 });
});

test('a process killed with SIGKILL while it waits on a queue takes no message with it', async () => {
  const key = sysvKey();
  const queue = SysVMessageQueue.create(key);
  try {
    const child = await startNode('queue-wait.js', [String(key)]);
    expect(await kill(child, 'SIGKILL')).toBe('SIGKILL');
    queue.trySend('after the crash', { type: 1 });
    expect(queue.tryReceive()).toEqual({ type: 1, data: Buffer.from('after the crash') });
  } finally {
    queue.remove();
    queue.close();
  }
});

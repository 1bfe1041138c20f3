// stat().mode is the permission bits (mode & 0o7777) on every primitive that has stat(): never
// the file type bits that fs.Stats.mode carries. Each case sets the bits from outside ipckit
// (chmod, IPC_SET) and compares exactly, so a full st_mode (0o100640) would fail.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MappedFile, SharedMemory, SysVMessageQueue, SysVSemaphoreSet } from '../../lib';
import { scratchDir, shmNames, sysvKey } from '../helpers';

const newName = shmNames('stat-mode');

test('SharedMemory: stat().mode is the permission bits, setgid included, without S_IFREG', () => {
  const name = newName();
  using shm = SharedMemory.create(name, { size: 4096, mode: 0o640 });
  expect(shm.stat().mode).toBe(0o640);
  fs.chmodSync(`/dev/shm${name}`, 0o2604);
  expect(shm.stat().mode).toBe(0o2604);
  expect(fs.statSync(`/dev/shm${name}`).mode).toBe(0o100000 | 0o2604); // what fs says, for contrast
  expect(Object.keys(shm.stat()).sort()).toEqual(['gid', 'mode', 'size', 'uid']);
});

test('MappedFile: stat().mode is the permission bits, without S_IFREG', () => {
  const file = path.join(scratchDir(), `stat-mode-${process.pid}.bin`);
  fs.writeFileSync(file, Buffer.alloc(64));
  fs.chmodSync(file, 0o1640);
  using mapped = MappedFile.open(file);
  expect(mapped.stat().mode).toBe(0o1640);
  fs.chmodSync(file, 0o600);
  expect(mapped.stat().mode).toBe(0o600);
});

test('SysVMessageQueue: stat().mode is the permission bits', () => {
  const queue = SysVMessageQueue.create(sysvKey(), { mode: 0o640 });
  try {
    expect(queue.stat().mode).toBe(0o640);
    queue.set({ mode: 0o604 });
    expect(queue.stat().mode).toBe(0o604);
  } finally {
    queue.remove();
    queue.close();
  }
});

test('SysVSemaphoreSet: stat().mode is the permission bits', () => {
  const set = SysVSemaphoreSet.create(sysvKey(), { count: 1, mode: 0o660 });
  try {
    expect(set.stat().mode).toBe(0o660);
  } finally {
    set.remove();
    set.close();
  }
  const other = SysVSemaphoreSet.createPrivate({ count: 2, mode: 0o604 });
  try {
    expect(other.stat().mode).toBe(0o604);
  } finally {
    other.remove();
    other.close();
  }
});

// The facade learns which primitives exist from the binding's `features`, not from a list of its
// own: a feature the binding does not list makes its factories throw ERR_IPC_UNSUPPORTED_PLATFORM
// before any system call, and the features this Linux build lists are exactly what it registers.
import * as fs from 'node:fs';
import { binding } from '../../lib/binding';
import {
  PosixMessageQueue,
  Semaphore,
  SharedMemory,
  SysVMessageQueue,
  SysVSemaphoreSet,
  SysVSharedMemory,
  EventFd,
  UnixSocket,
  ftok,
  MappedFile,
  wake,
  receiveSignals,
  sendSignal,
  Fifo,
  mkfifo,
} from '../../lib';

const all = [
  'sharedMemory',
  'mappedFile',
  'sysvMessageQueue',
  'sysvSemaphoreSet',
  'namedSemaphore',
  'posixMessageQueue',
  'sync',
  'sysvSharedMemory',
  'eventFd',
  'anonymousSharedMemory',
  'unixSocket',
  'signals',
  'fifo',
  'introspection',
] as const;

test('this Linux build lists every primitive it registers, and each one has its functions', () => {
  expect(binding.platform).toBe('linux');
  expect(Object.keys(binding.features).sort()).toEqual([...all].sort());
  expect(typeof binding.openSharedMemory).toBe('function');
  expect(typeof binding.openFile).toBe('function');
  expect(typeof binding.openSysVQueue).toBe('function');
  expect(typeof binding.openSysVSemaphoreSet).toBe('function');
  expect(typeof binding.openSemaphore).toBe('function');
  expect(typeof binding.openPosixQueue).toBe('function');
  expect(typeof binding.sync?.futexWake).toBe('function');
  expect(typeof binding.openSysVSharedMemory).toBe('function');
  expect(typeof binding.openSignalReceiver).toBe('function');
  expect(typeof binding.openFifo).toBe('function');
});

describe('a feature the binding does not list is refused with ERR_IPC_UNSUPPORTED_PLATFORM', () => {
  const memoryName = `/ipckit-features-${process.pid}`;
  let memory: SharedMemory;
  beforeAll(() => {
    memory = SharedMemory.create(memoryName, { size: 4096 });
  });
  afterAll(() => {
    memory.close();
    SharedMemory.unlink(memoryName);
  });
  const features = binding.features as Record<string, true | undefined>;
  const cases: [(typeof all)[number], () => unknown][] = [
    ['sharedMemory', () => SharedMemory.create('/ipckit-features-never', { size: 4096 })],
    ['mappedFile', () => MappedFile.open('/tmp/ipckit-features-never', { create: true, size: 4096 })],
    ['sysvMessageQueue', () => SysVMessageQueue.createPrivate()],
    ['sysvMessageQueue', () => ftok('/tmp', 1)],
    ['sysvSemaphoreSet', () => SysVSemaphoreSet.createPrivate({ count: 1 })],
    ['namedSemaphore', () => Semaphore.create('/ipckit-features-never')],
    ['posixMessageQueue', () => PosixMessageQueue.create('/ipckit-features-never')],
    ['sync', () => wake(memory.view(Int32Array), 0)],
    ['sysvSharedMemory', () => SysVSharedMemory.createPrivate({ size: 4096 })],
    ['eventFd', () => EventFd.create()],
    ['anonymousSharedMemory', () => SharedMemory.createAnonymous({ size: 4096 })],
    ['unixSocket', () => UnixSocket.pair()[0]],
    ['signals', () => receiveSignals('SIGRTMIN+10')],
    // Signal 0 only checks that the process exists: nothing is delivered.
    ['signals', () => sendSignal(process.pid, 0)],
    ['fifo', () => mkfifo('/nonexistent-dir/ipckit-features-never')],
    ['fifo', () => Fifo.openReader('/nonexistent-dir/ipckit-features-never')],
  ];
  test.each(cases)('%s', (feature, call) => {
    const saved = features[feature];
    delete features[feature];
    try {
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_IPC_UNSUPPORTED_PLATFORM' }));
    } finally {
      features[feature] = saved;
    }
    // And with the feature listed again, the same call gets past the check (or fails for another reason).
    let code: string | undefined;
    try {
      const handle = call() as { close?: () => void; remove?: () => void } | number;
      if (typeof handle === 'object') {
        handle.remove?.();
        handle.close?.();
      }
    } catch (error) {
      code = (error as { code?: string }).code;
    }
    expect(code).not.toBe('ERR_IPC_UNSUPPORTED_PLATFORM');
    for (const cleanup of [
      () => SharedMemory.unlink('/ipckit-features-never'),
      () => Semaphore.unlink('/ipckit-features-never'),
      () => PosixMessageQueue.unlink('/ipckit-features-never'),
    ]) {
      try {
        cleanup();
      } catch {
        // not created by this case
      }
    }
    fs.rmSync('/tmp/ipckit-features-never', { force: true });
  });
});

// The waiting model: a wait that reaches the addon carries its timeout as a deadline that the
// addon enforces (in the kernel call where it takes one: futex, sem_clockwait, semtimedop; by the
// waiter pool's watchdog for msgrcv/msgsnd; by a libuv timer for POSIX queues on the event loop).
// No JavaScript timer runs for such a wait, stop reasons cross the binding as numbers, and every
// kind still settles with the same codes.
import { binding } from '../../lib/binding';
import { Barrier, Condition, Mutex, PosixMessageQueue, Semaphore, SharedMemory, SysVMessageQueue, SysVSemaphoreSet, waitAsync } from '../../lib';
import { spawn, type ChildProcess } from 'node:child_process';
import { kill, sysvKey, uniqueName } from '../helpers';

// A peer that holds the Mutex at `offset` of the shared memory until it is killed.
function startHolder(offset: number): Promise<ChildProcess> {
  const script = `const { SharedMemory, Mutex } = require(${JSON.stringify(require.resolve('../../dist'))});
    const m = SharedMemory.open(process.argv[1]); Mutex.open(m, ${offset}).lockSync(); console.log('ready'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script, shmName], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`the holder exited (${code}) before it held the mutex`)));
  });
}

const jsTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

interface Case {
  name: string;
  // Starts a wait that cannot complete, with `timeout`; returns its promise and a clean-up.
  start: (timeout: number, signal?: AbortSignal) => Promise<{ wait: Promise<unknown>; done: () => void | Promise<void> }>;
  // What a timeout settles with: a rejection code, or a resolved value.
  timedOut: { code: string } | { value: unknown };
}

const shmName = uniqueName('waiting-model');
let memory: SharedMemory;
beforeAll(() => {
  memory = SharedMemory.create(shmName, { size: 4096 });
});
afterAll(() => {
  memory.close();
  SharedMemory.unlink(shmName);
});

let holder: ChildProcess | undefined;
afterEach(async () => {
  if (holder !== undefined) await kill(holder);
  holder = undefined;
});

const cases: Case[] = [
  {
    name: 'SysVMessageQueue.receive (msgrcv: the watchdog keeps the deadline)',
    start: async (timeout, signal) => {
      const q = SysVMessageQueue.createPrivate();
      return { wait: q.receive({ timeout, signal, spin: 0 }), done: () => (q.remove(), q.close()) };
    },
    timedOut: { code: 'ERR_IPC_TIMEOUT' },
  },
  {
    name: 'SysVMessageQueue.send to a full queue (msgsnd)',
    start: async (timeout, signal) => {
      const q = SysVMessageQueue.createPrivate();
      q.set({ maxBytes: 16 });
      expect(q.trySend(Buffer.alloc(16))).toBe(true);
      return { wait: q.send(Buffer.alloc(16), { timeout, signal }), done: () => (q.remove(), q.close()) };
    },
    timedOut: { code: 'ERR_IPC_TIMEOUT' },
  },
  {
    name: 'PosixMessageQueue.receive (uv_poll with a libuv timer)',
    start: async (timeout, signal) => {
      const name = uniqueName('wm-pq');
      const q = PosixMessageQueue.create(name, { maxMessages: 1, messageSize: 16 });
      return { wait: q.receive({ timeout, signal, spin: 0 }), done: () => (q.close(), PosixMessageQueue.unlink(name)) };
    },
    timedOut: { code: 'ERR_IPC_TIMEOUT' },
  },
  {
    name: 'PosixMessageQueue.send to a full queue',
    start: async (timeout, signal) => {
      const name = uniqueName('wm-pq');
      const q = PosixMessageQueue.create(name, { maxMessages: 1, messageSize: 16 });
      expect(q.trySend(Buffer.from('x'))).toBe(true);
      return { wait: q.send(Buffer.from('y'), { timeout, signal }), done: () => (q.close(), PosixMessageQueue.unlink(name)) };
    },
    timedOut: { code: 'ERR_IPC_TIMEOUT' },
  },
  {
    name: 'Semaphore.wait (sem_clockwait)',
    start: async (timeout, signal) => {
      const name = uniqueName('wm-sem');
      const sem = Semaphore.create(name);
      return { wait: sem.wait({ timeout, signal }), done: () => (sem.close(), Semaphore.unlink(name)) };
    },
    timedOut: { code: 'ERR_IPC_TIMEOUT' },
  },
  {
    name: 'SysVSemaphoreSet.op (semtimedop)',
    start: async (timeout, signal) => {
      const set = SysVSemaphoreSet.createPrivate({ count: 1 });
      return { wait: set.op([{ index: 0, delta: -1 }], { timeout, signal }), done: () => (set.remove(), set.close()) };
    },
    timedOut: { code: 'ERR_IPC_TIMEOUT' },
  },
  {
    name: 'waitAsync (futex with an absolute deadline)',
    start: async (timeout, signal) => {
      const words = memory.view(Int32Array, 0, 1);
      return { wait: waitAsync(words, 0, 0, { timeout, signal, spin: 0 }), done: () => {} };
    },
    timedOut: { value: 'timed-out' },
  },
  {
    name: 'Condition.wait (futex)',
    start: async (timeout, signal) => {
      const mutex = Mutex.create(memory, 64);
      const condition = Condition.create(memory, 192);
      await mutex.lock();
      return { wait: condition.wait(mutex, { timeout, signal }), done: () => mutex.unlock() };
    },
    timedOut: { value: 'timed-out' },
  },
  {
    name: 'Barrier.wait (futex)',
    start: async (timeout, signal) => {
      const barrier = Barrier.create(memory, 320, 2);
      return { wait: barrier.wait({ timeout, signal }), done: () => {} };
    },
    timedOut: { code: 'ERR_IPC_TIMEOUT' },
  },
  {
    name: 'Mutex.lock held by another process (futex sleep)',
    start: async (timeout, signal) => {
      Mutex.create(memory, 512);
      holder = await startHolder(512);
      const mutex = Mutex.open(memory, 512);
      return { wait: mutex.lock({ timeout, signal }), done: () => {} };
    },
    timedOut: { code: 'ERR_IPC_TIMEOUT' },
  },
];

test('stop reasons cross the binding as numbers, defined once in native code', () => {
  expect(binding.stopReasons).toEqual({ timeout: 1, aborted: 2, closed: 3 });
  expect(Object.isFrozen(binding.stopReasons)).toBe(true);
});

describe.each(cases)('$name', ({ start, timedOut }) => {
  test('a pending wait with a timeout runs no JavaScript timer, and times out all the same', async () => {
    const before = jsTimers();
    const { wait, done } = await start(150);
    try {
      const outcome = wait.then(
        (value) => ({ value }),
        (error) => ({ code: (error as { code?: string }).code }),
      );
      // Sampled while the wait is certainly pending: it settles only once its deadline passes.
      await new Promise((resolve) => setImmediate(resolve));
      expect(jsTimers()).toBe(before);
      expect(await outcome).toEqual(timedOut);
    } finally {
      await done();
    }
  });

  test('an abort settles it with ERR_IPC_ABORTED before its deadline', async () => {
    const controller = new AbortController();
    const { wait, done } = await start(60_000, controller.signal);
    try {
      let settled = false;
      const outcome = wait
        .then(
          () => 'resolved',
          (error) => (error as { code?: string }).code,
        )
        .finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(settled).toBe(false);
      controller.abort();
      expect(await outcome).toBe('ERR_IPC_ABORTED');
    } finally {
      await done();
    }
  });
});

test('a deadline that the watchdog keeps is kept for many concurrent waits, each at its own time', async () => {
  // Ten msgrcv waits with staggered timeouts settle in the order of their deadlines.
  const q = SysVMessageQueue.createPrivate();
  try {
    const order: number[] = [];
    const waits = [9, 3, 7, 1, 5, 0, 8, 2, 6, 4].map((i) =>
      q.receive({ type: 1000 + i, timeout: 20 + i * 40, spin: 0 }).catch((error) => {
        expect(error.code).toBe('ERR_IPC_TIMEOUT');
        order.push(i);
      }),
    );
    await Promise.all(waits);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  } finally {
    q.remove();
    q.close();
  }
});

test('closing a handle stops its waits with ERR_IPC_CLOSED whatever their deadlines', async () => {
  const key = sysvKey();
  const q = SysVMessageQueue.create(key);
  const pending = [q.receive({ timeout: 60_000, spin: 0 }), q.receive({ spin: 0 })].map((p) => p.catch((error) => error.code));
  await new Promise((resolve) => setTimeout(resolve, 20));
  q.close();
  try {
    expect(await Promise.all(pending)).toEqual(['ERR_IPC_CLOSED', 'ERR_IPC_CLOSED']);
  } finally {
    const remover = SysVMessageQueue.open(key);
    remover.remove();
    remover.close();
  }
});

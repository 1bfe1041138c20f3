// Which waits worker.terminate() can end. The README's "Lifetime and threads" table states the
// result of exactly these cases, so a change either way (a blocking wait made interruptible, or
// an asynchronous one that started to pin its worker) fails here and the table has to follow.
//
// Each case starts a worker thread that opens objects the main thread created and waits on one of
// them with no timeout (one case has a timeout, for contrast). The main thread first makes sure
// the wait really sits in the kernel: it reads /proc/self/task/TID/syscall of the thread that must
// be blocked (the worker's own thread for the synchronous calls, a new ipckit waiter thread for
// the asynchronous ones, the event loop's epoll for the POSIX queues). Only then does it call
// worker.terminate(). A terminate() that stays
// pending while the thread is still in its call, and resolves only once the main thread releases
// the wait, is "stuck"; one that resolves with nothing released is "ends". No elapsed time is
// compared with anything: the checks are "still pending" and the order of events.
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Barrier, Condition, Mutex, PosixMessageQueue, Semaphore, SharedMemory, SysVMessageQueue, SysVSemaphoreSet, wake } from '../../lib';
import { eventually, repoRoot, shmNames, sysvKey, uniqueName } from '../helpers';

const newShmName = shmNames('terminate');

// Syscall numbers for reading /proc/.../syscall. futex waits are told apart from Node's own by the
// private flag: ipckit (and glibc, for process-shared semaphores and mutexes) waits without it,
// while libuv, V8 and glibc's thread-private locks always set it.
const NUMBERS: Record<string, { futex: number; semop: number; semtimedop: number; msgsnd: number; msgrcv: number; epoll: number[] }> = {
  x64: { futex: 202, semop: 65, semtimedop: 220, msgsnd: 69, msgrcv: 70, epoll: [232, 281, 441] },
  arm64: { futex: 98, semop: 193, semtimedop: 192, msgsnd: 189, msgrcv: 188, epoll: [22, 441] },
};
const FUTEX_PRIVATE_FLAG = 128;
const FUTEX_CMD_MASK = 0x7f; // without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME
const FUTEX_WAIT = 0;
const FUTEX_WAIT_BITSET = 9;

type Where = 'kernel wait' | 'epoll' | 'elsewhere' | 'gone';

/** What thread `tid` of this process is doing right now, as far as these tests care. */
function where(tid: number): Where {
  const numbers = NUMBERS[process.arch];
  if (numbers === undefined) throw new Error(`no syscall numbers for ${process.arch}: add them to NUMBERS`);
  let text: string;
  try {
    text = fs.readFileSync(`/proc/self/task/${tid}/syscall`, 'utf8').trim();
  } catch {
    return 'gone';
  }
  const [nr, , op] = text.split(' ');
  const call = Number(nr); // "running" reads as NaN
  if (call === numbers.futex) {
    const flags = Number(op);
    const cmd = flags & FUTEX_CMD_MASK;
    if ((flags & FUTEX_PRIVATE_FLAG) === 0 && (cmd === FUTEX_WAIT || cmd === FUTEX_WAIT_BITSET)) return 'kernel wait';
    return 'elsewhere';
  }
  if ([numbers.semop, numbers.semtimedop, numbers.msgsnd, numbers.msgrcv].includes(call)) return 'kernel wait';
  if (numbers.epoll.includes(call)) return 'epoll';
  return 'elsewhere';
}

function threads(): number[] {
  return fs.readdirSync('/proc/self/task').map(Number);
}

/** What the main thread made for one case, and how it ends the worker's wait. */
interface Setup {
  data: Record<string, unknown>;
  release: () => void;
}

interface Case {
  call: string;
  /** Where the blocked thread waits: the worker's own thread, an ipckit waiter thread, or the event loop. */
  blocks: 'worker thread' | 'waiter thread' | 'event loop';
  /** What the README says terminate() does to it. */
  expected: 'ends' | 'stuck';
  setup: () => Setup;
  /** Worker code: `ipc`, `data` and `ready()` are in scope; it calls ready() just before a blocking call, just after an asynchronous one. */
  body: string;
}

// Cleanups of the current case, run after it whether it passed or not (releasing a wait first, so
// a failed case cannot leave a worker stuck behind it).
const cleanups: (() => void | Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const removeSysV = (handle: { remove(): void; close(): void }) => () => {
  handle.remove();
  handle.close();
};

/** Shared memory with a Mutex at 0, a Condition at 64, a Barrier of 2 at 96 and a futex word at 128. */
function memory(): { shm: SharedMemory; mutex: Mutex; condition: Condition; barrier: Barrier; word: Int32Array } {
  const shm = SharedMemory.create(newShmName(), { size: 4096 });
  cleanups.push(() => shm.close());
  return {
    shm,
    mutex: Mutex.create(shm, 0),
    condition: Condition.create(shm, 64),
    barrier: Barrier.create(shm, 96, 2),
    word: shm.view(Int32Array, 128, 1),
  };
}

function semaphore(): Setup {
  const name = uniqueName('terminate-sem');
  const sem = Semaphore.create(name);
  cleanups.push(() => {
    sem.close();
    Semaphore.unlink(name);
  });
  return { data: { name }, release: () => sem.post() };
}

function semaphoreSet(): Setup {
  const key = sysvKey();
  const set = SysVSemaphoreSet.create(key, { count: 1 });
  cleanups.push(removeSysV(set));
  return { data: { key }, release: () => void set.tryOp([{ index: 0, delta: 1 }]) };
}

function heldMutex(): Setup {
  const { shm, mutex } = memory();
  mutex.lockSync();
  return { data: { name: shm.name }, release: () => mutex.unlock() };
}

function condition(): Setup {
  const { shm, condition: c } = memory();
  return { data: { name: shm.name }, release: () => void c.notifyAll() };
}

function barrier(): Setup {
  const { shm, barrier: b } = memory();
  // The second of two parties: returns at once and lets the worker through.
  return { data: { name: shm.name }, release: () => void b.waitSync() };
}

function futexWord(): Setup {
  const { shm, word } = memory();
  return {
    data: { name: shm.name },
    release: () => {
      Atomics.store(word, 0, 1);
      wake(word, 0);
    },
  };
}

const openShm = `const shm = ipc.SharedMemory.open(data.name);`;

// The blocking calls, each as [call, setup, body]; OPTS in the body stands for the call's options.
const blocking: [string, () => Setup, string][] = [
  ['sem.waitSync()', semaphore, `const s = ipc.Semaphore.open(data.name); ready(); s.waitSync(OPTS);`],
  ['set.opSync()', semaphoreSet, `const set = ipc.SysVSemaphoreSet.open(data.key); ready(); set.opSync([{ index: 0, delta: -1 }], OPTS);`],
  ['mutex.lockSync()', heldMutex, `${openShm} const m = ipc.Mutex.open(shm, 0); ready(); m.lockSync(OPTS);`],
  [
    'condition.waitSync()',
    condition,
    `${openShm} const m = ipc.Mutex.open(shm, 0); const c = ipc.Condition.open(shm, 64); m.lockSync(); ready(); c.waitSync(m, OPTS);`,
  ],
  ['barrier.waitSync()', barrier, `${openShm} const b = ipc.Barrier.open(shm, 96); ready(); b.waitSync(OPTS);`],
  ['wait()', futexWord, `${openShm} const w = shm.view(Int32Array, 128, 1); ready(); ipc.wait(w, 0, 0, OPTS);`],
];

const cases: Case[] = [
  // Blocking calls: the worker's JavaScript thread is inside the system call, where V8's
  // termination cannot reach it, and ipckit retries the call after any signal.
  ...blocking.map(([call, setup, body]): Case => ({ call, blocks: 'worker thread', expected: 'stuck', setup, body: body.replace('OPTS', '{}') })),
  // With a timeout, the kernel ends the call at its deadline, and terminate() completes then
  // (what the call throws or returns is never seen: the worker is being terminated). The timeout
  // only has to outlast the main thread's check that the call is in the kernel.
  ...blocking.map(([call, setup, body]): Case => ({
    call: call.replace('()', '({ timeout })'),
    blocks: 'worker thread',
    expected: 'ends',
    setup,
    body: `try { ${body.replace('OPTS', '{ timeout: 2000 }')} } catch {}`,
  })),
  // Asynchronous waits: the environment's cleanup hook stops every pending one.
  {
    call: 'sem.wait()',
    blocks: 'waiter thread',
    expected: 'ends',
    setup: semaphore,
    body: `const s = ipc.Semaphore.open(data.name); s.wait().catch(() => {}); ready();`,
  },
  {
    call: 'set.op()',
    blocks: 'waiter thread',
    expected: 'ends',
    setup: semaphoreSet,
    body: `const set = ipc.SysVSemaphoreSet.open(data.key); set.op([{ index: 0, delta: -1 }]).catch(() => {}); ready();`,
  },
  {
    call: 'mutex.lock()',
    blocks: 'waiter thread',
    expected: 'ends',
    setup: heldMutex,
    body: `${openShm} const m = ipc.Mutex.open(shm, 0); m.lock().catch(() => {}); ready();`,
  },
  {
    call: 'condition.wait()',
    blocks: 'waiter thread',
    expected: 'ends',
    setup: condition,
    body: `${openShm} const m = ipc.Mutex.open(shm, 0); const c = ipc.Condition.open(shm, 64); m.lockSync(); c.wait(m).catch(() => {}); ready();`,
  },
  {
    call: 'barrier.wait()',
    blocks: 'waiter thread',
    expected: 'ends',
    setup: barrier,
    body: `${openShm} const b = ipc.Barrier.open(shm, 96); b.wait().catch(() => {}); ready();`,
  },
  {
    call: 'waitAsync()',
    blocks: 'waiter thread',
    expected: 'ends',
    setup: futexWord,
    body: `${openShm} const w = shm.view(Int32Array, 128, 1); ipc.waitAsync(w, 0, 0).catch(() => {}); ready();`,
  },
  {
    call: 'SysVMessageQueue receive()',
    blocks: 'waiter thread',
    expected: 'ends',
    setup: () => {
      const key = sysvKey();
      const queue = SysVMessageQueue.create(key);
      cleanups.push(removeSysV(queue));
      return { data: { key }, release: () => void queue.trySend('x') };
    },
    body: `const q = ipc.SysVMessageQueue.open(data.key); q.receive().catch(() => {}); ready();`,
  },
  {
    call: 'PosixMessageQueue receive()',
    blocks: 'event loop',
    expected: 'ends',
    setup: () => {
      const name = uniqueName('terminate-mq');
      const queue = PosixMessageQueue.create(name, { maxMessages: 1, messageSize: 16 });
      cleanups.push(() => {
        queue.close();
        PosixMessageQueue.unlink(name);
      });
      return { data: { name }, release: () => void queue.trySend('x') };
    },
    body: `const q = ipc.PosixMessageQueue.open(data.name); q.receive().catch(() => {}); ready();`,
  },
  {
    call: 'SysVMessageQueue send() on a full queue',
    blocks: 'waiter thread',
    expected: 'ends',
    setup: () => {
      const key = sysvKey();
      const queue = SysVMessageQueue.create(key);
      cleanups.push(removeSysV(queue));
      queue.set({ maxBytes: 8 });
      queue.trySend('12345678');
      return { data: { key }, release: () => void queue.tryReceive() };
    },
    body: `const q = ipc.SysVMessageQueue.open(data.key); q.send('x').catch(() => {}); ready();`,
  },
  {
    call: 'PosixMessageQueue send() on a full queue',
    blocks: 'event loop',
    expected: 'ends',
    setup: () => {
      const name = uniqueName('terminate-mq');
      const queue = PosixMessageQueue.create(name, { maxMessages: 1, messageSize: 16 });
      cleanups.push(() => {
        queue.close();
        PosixMessageQueue.unlink(name);
      });
      queue.trySend('full');
      return { data: { name }, release: () => void queue.tryReceive() };
    },
    body: `const q = ipc.PosixMessageQueue.open(data.name); q.send('x').catch(() => {}); ready();`,
  },
];

/** Starts the worker and resolves with its thread id once it has called ready(). */
function start(body: string, data: Record<string, unknown>): { worker: Worker; tid: Promise<number> } {
  const worker = new Worker(
    `const { workerData: data, parentPort } = require('node:worker_threads');
     const ipc = require(${JSON.stringify(repoRoot)});
     const ready = () => parentPort.postMessage(Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()));
     ${body}`,
    { eval: true, workerData: data },
  );
  const tid = new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the worker exited (${code}) before it was ready`)));
  });
  return { worker, tid };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test.each(cases)('worker.terminate() during $call, which blocks the $blocks: $expected', async ({ blocks, expected, setup, body }) => {
  const { data, release } = setup();
  let released = false;
  const releaseOnce = () => {
    if (!released) release();
    released = true;
  };
  const before = new Set(threads());
  const { worker, tid } = start(body, data);
  cleanups.push(async () => {
    releaseOnce(); // a case that failed with the worker stuck: let it go
    await worker.terminate();
  });
  const workerTid = await tid;

  // The thread that must be blocked, once it is blocked.
  let blocked = workerTid;
  if (blocks === 'worker thread') {
    await eventually(`the worker's thread waits in the kernel`, () => where(workerTid) === 'kernel wait');
  } else if (blocks === 'waiter thread') {
    await eventually('a waiter thread waits in the kernel', () => {
      const waiter = threads().find((t) => !before.has(t) && t !== workerTid && where(t) === 'kernel wait');
      if (waiter !== undefined) blocked = waiter;
      return waiter !== undefined;
    });
  } else {
    await eventually(`the worker's event loop is idle in epoll`, () => where(workerTid) === 'epoll');
  }

  const events: string[] = [];
  let settled = false;
  const terminated = worker.terminate().then(() => {
    settled = true;
    events.push('terminated');
  });

  if (expected === 'ends') {
    // Nothing is ever released: the test's timeout is the only clock.
    await terminated;
    expect({ events, released }).toEqual({ events: ['terminated'], released: false });
    released = true; // the worker is gone; its wait needs no release
    await eventually('the blocked thread is gone', () => where(blocked) === 'gone');
    return;
  }

  // Stuck: terminate() stays pending while the thread sits in its call, round after round.
  for (let round = 0; round < 20; round++) {
    await delay(25);
    expect({ settled, thread: where(blocked) }).toEqual({ settled: false, thread: 'kernel wait' });
  }
  events.push('released');
  releaseOnce();
  await terminated;
  expect(events).toEqual(['released', 'terminated']);
  await eventually('the worker thread is gone', () => where(blocked) === 'gone');
});

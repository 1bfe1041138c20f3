// Fault injection: processes killed with SIGKILL while they wait in (or hold) every blocking
// primitive. The killed processes are Node children (test/fixtures/fault-peer.js) and C peers
// (test/c/fault_peer.c). Every kill happens only once the kernel shows the victim inside the very
// wait (its thread in msgrcv/msgsnd/semop on that id, in futex() on that word of that mapping, or
// its event loop watching that queue's descriptor), and the victim's output proves the wait never
// completed. After each kill, what survives in this process must not crash, its waits must settle
// (or keep waiting, correctly), and no message, post or unit may be lost, duplicated or damaged.
//
// Not covered here (see the other files): a holder of a System V semaphore killed with and without
// undo (interop/sysv-sem), a Mutex holder killed with one waiter (kernel/sync), a receiver killed with one
// message queued (lifecycle/kill-gc-workers).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  Barrier,
  Condition,
  ErrorCodes,
  Mutex,
  PosixMessageQueue,
  Semaphore,
  SharedMemory,
  SysVMessageQueue,
  SysVSemaphoreSet,
  wake,
  waitAsync,
} from '../../lib';
import { callsOf, compileC, eventually, fixtures, kill, repoRoot, shmNames, sleepingOn, sysvKey, thrown, uniqueName } from '../helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { makeMessage, checkMessage } = require('../fixtures/mq-message') as {
  makeMessage: (out: Buffer, producer: number, seq: number, maxBody: number) => Buffer;
  checkMessage: (m: Buffer) => { producer: number; seq: number };
};

const newShmName = shmNames('fault');
const cPeer = () => compileC('fault_peer.c', ['-D_GNU_SOURCE', '-I', path.join(repoRoot, 'native', 'include')]);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error) => error as NodeJS.ErrnoException,
  );

// x86_64 system call numbers, as /proc/PID/task/TID/syscall reports them.
const SYS = { semop: 65, msgsnd: 69, msgrcv: 70, futex: 202, semtimedop: 220, mqTimedSend: 242, mqTimedReceive: 243 } as const;

// ---- what is cleaned up after every test, whether it passed or not ----

const cleanups: (() => void)[] = [];
const children = new Set<ChildProcess>();
afterEach(async () => {
  for (const child of children) await kill(child);
  children.clear();
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      cleanup();
    } catch {
      // already gone
    }
  }
});

function sysvQueue(): SysVMessageQueue {
  const queue = SysVMessageQueue.create(sysvKey());
  const { id } = queue;
  cleanups.push(
    () => spawnSync('ipcrm', ['-q', String(id)], { stdio: 'ignore' }),
    () => queue.close(),
  );
  return queue;
}

function posixQueue(options: { maxMessages: number; messageSize: number }): PosixMessageQueue {
  const queue = PosixMessageQueue.create(uniqueName('fault-mq'), options);
  cleanups.push(
    () => PosixMessageQueue.unlink(queue.name),
    () => queue.close(),
  );
  return queue;
}

function semaphore(initial: number): Semaphore {
  const sem = Semaphore.create(uniqueName('fault-sem'), { initial });
  cleanups.push(
    () => Semaphore.unlink(sem.name),
    () => sem.close(),
  );
  return sem;
}

function semaphoreSet(count: number): SysVSemaphoreSet {
  const set = SysVSemaphoreSet.create(sysvKey(), { count });
  const { id } = set;
  cleanups.push(
    () => spawnSync('ipcrm', ['-s', String(id)], { stdio: 'ignore' }),
    () => set.close(),
  );
  return set;
}

/** A new shared memory object; `open(name)` gives another handle (its own mapping) to it. */
function memory(): SharedMemory {
  const shm = SharedMemory.create(newShmName(), { size: 4096 });
  cleanups.push(() => shm.close());
  return shm;
}

function open(name: string): SharedMemory {
  const shm = SharedMemory.open(name);
  cleanups.push(() => shm.close());
  return shm;
}

// ---- peers ----

interface Peer {
  pid: number;
  /** Everything the peer printed so far. */
  output(): string;
  /** Resolves when the peer prints `line` (rejects if it exits first). */
  line(line: string): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<NodeJS.Signals | null>;
}

/** Starts a Node (fault-peer.js) or C (fault_peer) peer and resolves once it prints "ready". */
async function startPeer(kind: 'node' | 'c', ...args: (string | number)[]): Promise<Peer> {
  const [command, argv] = kind === 'node' ? [process.execPath, [path.join(fixtures, 'fault-peer.js')]] : [cPeer(), []];
  const child = spawn(command, [...argv, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
    for (const listener of listeners) listener();
  });
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const peer: Peer = {
    pid: child.pid!,
    output: () => stdout,
    line: (line) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (stdout.split('\n').includes(line)) {
            listeners.delete(check);
            resolve();
          }
        };
        listeners.add(check);
        check();
        void exited.then(({ code, signal }) =>
          reject(new Error(`${kind} peer ${args[0]} exited (${code ?? signal}) before "${line}": ${stdout}${stderr}`)),
        );
      }),
    exited,
    kill: () => kill(child),
  };
  await peer.line('ready');
  return peer;
}

/** Kills a peer that must still be inside its wait: it printed nothing after "ready". */
async function killWaiting(peer: Peer): Promise<void> {
  expect(await peer.kill()).toBe('SIGKILL');
  expect(peer.output()).toBe('ready\n');
}

// ---- what the kernel says a process is doing ----

// Polling with no deadline of its own: the test's timeout is the only clock (see eventually()).
const until = (what: string, check: () => boolean): Promise<void> => eventually(what, check);

/** Resolves once a thread of `pid` is blocked in one of `nrs` with first argument `id`. */
function blockedIn(pid: number, nrs: number[], id?: number): Promise<void> {
  return until(`process ${pid} is blocked in syscall ${nrs.join('/')}${id === undefined ? '' : ` on id ${id}`}`, () =>
    callsOf(pid).some((call) => nrs.includes(call.nr) && (id === undefined || call.args[0] === BigInt(id))),
  );
}

/** Resolves once the event loop of `pid` watches its descriptor of POSIX queue `name` for `events` (EPOLLIN 1, EPOLLOUT 4). */
function watching(pid: number, name: string, events: number): Promise<void> {
  return until(`process ${pid} watches queue ${name} for events ${events}`, () => {
    const dir = `/proc/${pid}/fd`;
    const fds = fs.readdirSync(dir);
    const link = (fd: string) => {
      try {
        return fs.readlinkSync(`${dir}/${fd}`);
      } catch {
        return '';
      }
    };
    const queueFds = fds.filter((fd) => link(fd) === name).map(Number);
    return fds
      .filter((fd) => link(fd) === 'anon_inode:[eventpoll]')
      .some((fd) => {
        const info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
        return [...info.matchAll(/tfd:\s+(\d+) events:\s+([0-9a-f]+)/g)].some(
          (m) => queueFds.includes(Number(m[1])) && (parseInt(m[2], 16) & events) === events,
        );
      });
  });
}

const shmFile = (name: string) => `/dev/shm${name}`;
const semFile = (name: string) => `/dev/shm/sem.${name.slice(1)}`;

// ---- message queues ----

const MAX_BODY = 1500;
const message = (producer: number, seq: number) => Buffer.from(makeMessage(Buffer.alloc(8192), producer, seq, MAX_BODY));
/** Producer and seq of each message, after checking every byte of it. */
const decode = (messages: Buffer[]) => messages.map((m) => checkMessage(m));
const seqs = (producer: number, from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ producer, seq: from + i }));

describe('SysVMessageQueue', () => {
  test('receivers killed mid-wait (Node receive(), C msgrcv) take nothing: the receive pending here and the next receiver get all 30 messages, intact, in order', async () => {
    const queue = sysvQueue();
    const pendingHere = queue.receive();
    const node = await startPeer('node', 'sysv-recv', queue.key);
    const c = await startPeer('c', 'sysv-recv', queue.key);
    await blockedIn(node.pid, [SYS.msgrcv], queue.id);
    await blockedIn(c.pid, [SYS.msgrcv], queue.id);
    await blockedIn(process.pid, [SYS.msgrcv], queue.id);
    await killWaiting(node);
    await killWaiting(c);

    // 30 messages are more than the queue holds (msgmnb): sending and receiving overlap.
    using next = SysVMessageQueue.open(queue.key);
    const received: Buffer[] = [];
    const receiving = (async () => {
      received.push((await pendingHere).data);
      while (received.length < 30) received.push((await next.receive({ timeout: 10000 })).data);
    })();
    for (let seq = 0; seq < 30; seq++) await queue.send(message(0, seq), { type: 1, timeout: 10000 });
    await receiving;
    expect(decode(received)).toEqual(seqs(0, 0, 30));
    const stat = queue.stat();
    expect(stat.messages).toBe(0);
    expect(stat.lastReceivePid).toBe(process.pid);
  });

  test('senders killed while blocked on a full queue (Node send(), C msgsnd): the queue holds exactly what was accepted, the send pending here completes, nothing partial or extra arrives', async () => {
    const queue = sysvQueue();
    queue.set({ maxBytes: 4096 });
    const accepted: Buffer[] = [];
    for (let seq = 0; queue.trySend(message(0, seq), { type: 1 }); seq++) accepted.push(message(0, seq));
    expect(accepted.length).toBeGreaterThan(1);
    const node = await startPeer('node', 'sysv-send', queue.key, 2, 0, MAX_BODY);
    const c = await startPeer('c', 'sysv-send', queue.key, 3, 0, MAX_BODY);
    await blockedIn(node.pid, [SYS.msgsnd], queue.id);
    await blockedIn(c.pid, [SYS.msgsnd], queue.id);
    const sentHere = queue.send(message(1, 0), { type: 2 });
    await blockedIn(process.pid, [SYS.msgsnd], queue.id);
    await killWaiting(node);
    await killWaiting(c);
    expect(queue.stat().messages).toBe(accepted.length);

    using reader = SysVMessageQueue.open(queue.key);
    const received: Buffer[] = [];
    for (let i = 0; i <= accepted.length; i++) received.push((await reader.receive({ timeout: 10000 })).data);
    await sentHere;
    expect(decode(received)).toEqual([...seqs(0, 0, accepted.length), { producer: 1, seq: 0 }]);
    expect(received.slice(0, accepted.length)).toEqual(accepted);
    expect(reader.tryReceive()).toBeNull();
    expect(queue.stat()).toMatchObject({ messages: 0, bytes: 0, lastSendPid: process.pid });
  });
});

describe('PosixMessageQueue', () => {
  test('receivers killed mid-wait (Node receive() on its event loop, C mq_receive) take nothing: the receive pending here and the next receiver get all 30 messages, intact, in order', async () => {
    const queue = posixQueue({ maxMessages: 10, messageSize: 2048 });
    const pendingHere = queue.receive();
    const node = await startPeer('node', 'posix-recv', queue.name);
    const c = await startPeer('c', 'posix-recv', queue.name);
    await watching(node.pid, queue.name, 1);
    await blockedIn(c.pid, [SYS.mqTimedReceive]);
    await killWaiting(node);
    await killWaiting(c);

    using next = PosixMessageQueue.open(queue.name);
    const received: Buffer[] = [];
    const receiving = (async () => {
      received.push((await pendingHere).data);
      while (received.length < 30) received.push((await next.receive({ timeout: 10000 })).data);
    })();
    for (let seq = 0; seq < 30; seq++) await queue.send(message(0, seq), { timeout: 10000 });
    await receiving;
    expect(decode(received)).toEqual(seqs(0, 0, 30));
    expect(queue.attributes.currentMessages).toBe(0);
  });

  test('senders killed while blocked on a full queue (Node send() on its event loop, C mq_send): the queue holds exactly the 10 accepted, the send pending here completes, nothing extra arrives', async () => {
    const queue = posixQueue({ maxMessages: 10, messageSize: 2048 });
    for (let seq = 0; seq < 10; seq++) expect(queue.trySend(message(0, seq))).toBe(true);
    expect(queue.trySend(message(0, 10))).toBe(false);
    const node = await startPeer('node', 'posix-send', queue.name, 2, 0, MAX_BODY);
    const c = await startPeer('c', 'posix-send', queue.name, 3, 0, MAX_BODY);
    await watching(node.pid, queue.name, 4);
    await blockedIn(c.pid, [SYS.mqTimedSend]);
    const sentHere = queue.send(message(1, 0));
    await killWaiting(node);
    await killWaiting(c);
    expect(queue.attributes.currentMessages).toBe(10);

    using reader = PosixMessageQueue.open(queue.name);
    const received: Buffer[] = [];
    for (let i = 0; i < 11; i++) received.push((await reader.receive({ timeout: 10000 })).data);
    await sentHere;
    expect(decode(received)).toEqual([...seqs(0, 0, 10), { producer: 1, seq: 0 }]);
    expect(reader.tryReceive()).toBeNull();
  });
});

describe('Semaphore', () => {
  test('waiters killed mid-wait (Node wait(), Node waitSync(), C sem_wait) take no post: of two posts, one goes to the wait pending here and one stays in the value', async () => {
    const sem = semaphore(0);
    const pendingHere = sem.wait();
    const peers = [
      await startPeer('node', 'sem-wait', sem.name, 'async'),
      await startPeer('node', 'sem-wait', sem.name, 'sync'),
      await startPeer('c', 'sem-wait', sem.name),
    ];
    for (const peer of peers) await sleepingOn(peer.pid, semFile(sem.name), 0, 32);
    await sleepingOn(process.pid, semFile(sem.name), 0, 32);
    for (const peer of peers) await killWaiting(peer);

    sem.post();
    await pendingHere;
    sem.post();
    expect(sem.value).toBe(1);
    expect(sem.tryWait()).toBe(true);
    expect(sem.tryWait()).toBe(false);
  });

  test('a holder killed takes its unit with it (POSIX semaphores have no undo): the wait here keeps waiting, and the next post settles it', async () => {
    const sem = semaphore(1);
    const holder = await startPeer('node', 'sem-wait', sem.name, 'async');
    await holder.line('took');
    expect(await holder.kill()).toBe('SIGKILL');
    expect(sem.value).toBe(0);
    let settled = false;
    const pendingHere = sem.wait({ timeout: 60000 }).then(() => (settled = true));
    await sleepingOn(process.pid, semFile(sem.name), 0, 32);
    await delay(200);
    expect(settled).toBe(false);
    sem.post();
    await pendingHere;
    expect(sem.value).toBe(0);
  });
});

describe('SysVSemaphoreSet', () => {
  test('waiters killed mid-op (Node op() and C semop, with and without undo, one- and two-semaphore ops): nothing is applied or undone, and the op pending here gets the +1', async () => {
    const set = semaphoreSet(2);
    const pendingHere = set.op([{ index: 0, delta: -1, undo: true }]);
    const peers: Peer[] = [];
    for (const kind of ['node', 'c'] as const) {
      peers.push(await startPeer(kind, 'semop', set.key, 'undo', '0:-1'));
      peers.push(await startPeer(kind, 'semop', set.key, 'plain', '0:-1'));
      peers.push(await startPeer(kind, 'semop', set.key, 'undo', '0:-1', '1:1'));
      peers.push(await startPeer(kind, 'semop', set.key, 'plain', '1:1', '0:-1'));
    }
    for (const peer of peers) await blockedIn(peer.pid, [SYS.semop, SYS.semtimedop], set.id);
    await until('9 waiters for semaphore 0', () => set.stat().waiters[0].forIncrease === peers.length + 1);
    for (const peer of peers) await killWaiting(peer);
    await until('only the op here still waits', () => set.stat().waiters[0].forIncrease === 1);
    expect(set.getAll()).toEqual([0, 0]); // no half-applied two-semaphore op, no undo of what was never done

    await set.op([{ index: 0, delta: 1 }]);
    await pendingHere;
    expect(set.getAll()).toEqual([0, 0]);
    // The set works as before: take and give back.
    expect(set.tryOp([{ index: 1, delta: 1 }])).toBe(true);
    await set.op([{ index: 1, delta: -1 }], { timeout: 10000 });
    expect(set.getAll()).toEqual([0, 0]);
  });

  test('a C holder of a two-semaphore op with undo killed: the kernel reverses both, so the ops waiting here (take index 0, wait for index 1 to be zero) complete', async () => {
    const set = semaphoreSet(2);
    set.setAll([1, 0]);
    const holder = await startPeer('c', 'semop', set.key, 'undo', '0:-1', '1:1');
    await holder.line('done');
    expect(set.getAll()).toEqual([0, 1]);
    const take = set.op([{ index: 0, delta: -1 }]);
    const zero = set.op([{ index: 1, delta: 0 }]);
    await until('the ops here wait', () => set.stat().waiters[0].forIncrease === 1 && set.stat().waiters[1].forZero === 1);
    expect(await holder.kill()).toBe('SIGKILL');
    await Promise.all([take, zero]);
    expect(set.getAll()).toEqual([0, 0]);
  });

  test('a C holder without undo killed (the control): nothing comes back; the op here keeps waiting until aborted, and takes nothing', async () => {
    const set = semaphoreSet(1);
    set.set(0, 1);
    const holder = await startPeer('c', 'semop', set.key, 'plain', '0:-1');
    await holder.line('done');
    const controller = new AbortController();
    const take = rejection(set.op([{ index: 0, delta: -1 }], { signal: controller.signal }));
    await until('the op here waits', () => set.stat().waiters[0].forIncrease === 1);
    expect(await holder.kill()).toBe('SIGKILL');
    await delay(200);
    expect(set.stat().waiters[0].forIncrease).toBe(1);
    controller.abort();
    expect((await take).code).toBe(ErrorCodes.ABORTED);
    expect(set.get(0)).toBe(0);
    expect(set.stat().waiters[0].forIncrease).toBe(0);
  });
});

// ---- waits and locks in shared memory ----

const MUTEX = 0;
const COND = 64;
const BARRIER = 96;
const WORD = 128;
const MUTEX_WORD = MUTEX + 16; // the pthread_mutex_t's lock word, which lockers sleep on
const COND_SEQ = COND + 8;
const BARRIER_STATE = BARRIER + 12;

describe('wait / waitAsync / wake', () => {
  test('waiters killed mid-wait (Node waitAsync(), Node wait(), C ipckit_wait): the kernel forgets them; wake() here counts only the live waitAsync, which resolves ok', async () => {
    const shm = memory();
    const words = shm.view(Int32Array);
    const index = WORD / 4;
    let settled = false;
    const pendingHere = waitAsync(words, index, 0, { spin: 0 }).then((r) => ((settled = true), r));
    const peers = [
      await startPeer('node', 'futex-wait', shm.name, WORD, 0, 'async'),
      await startPeer('node', 'futex-wait', shm.name, WORD, 0, 'sync'),
      await startPeer('c', 'futex-wait', shm.name, WORD, 0),
    ];
    for (const peer of peers) await sleepingOn(peer.pid, shmFile(shm.name), WORD);
    await sleepingOn(process.pid, shmFile(shm.name), WORD);
    for (const peer of peers) await killWaiting(peer);
    expect(settled).toBe(false);
    expect(wake(words, index)).toBe(1);
    expect(await pendingHere).toBe('ok');
    expect(wake(words, index)).toBe(0);
  });
});

/** Starts a worker thread that runs `body` with shm, mutex, cond, barrier and post (to the parent) in scope. */
function worker(
  name: string,
  body: string,
): { messages: unknown[]; next: () => Promise<unknown>; post: (m: unknown) => void; done: Promise<number> } {
  const w = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const { SharedMemory, Mutex, Condition, Barrier } = require(${JSON.stringify(repoRoot)});
     const shm = SharedMemory.open(workerData);
     const post = (m) => parentPort.postMessage(m);
     ${body}`,
    { eval: true, workerData: name },
  );
  const messages: unknown[] = [];
  let waiting: ((m: unknown) => void) | undefined;
  let read = 0;
  w.on('message', (m) => {
    messages.push(m);
    waiting?.(m);
  });
  const done = new Promise<number>((resolve, reject) => w.on('exit', resolve).on('error', reject));
  cleanups.push(() => void w.terminate());
  return {
    messages,
    next: () =>
      new Promise((resolve) => {
        if (messages.length > read) return resolve(messages[read++]);
        waiting = (m) => {
          waiting = undefined;
          read++;
          resolve(m);
        };
      }),
    post: (m) => w.postMessage(m),
    done,
  };
}

describe('Mutex', () => {
  test('holder (C) killed with three lockers waiting (lock() here, Node lock() and lockSync() in children): exactly one is told ownerDied, and all three get the mutex in turn', async () => {
    const shm = memory();
    Mutex.create(shm, MUTEX);
    const holder = await startPeer('c', 'mutex-lock', shm.name, MUTEX);
    await holder.line('locked');
    const here = Mutex.open(open(shm.name), MUTEX);
    const lockedHere = here.lock();
    const lockers = [await startPeer('node', 'mutex-take', shm.name, MUTEX, 'async'), await startPeer('node', 'mutex-take', shm.name, MUTEX, 'sync')];
    for (const locker of lockers) await sleepingOn(locker.pid, shmFile(shm.name), MUTEX_WORD);
    await sleepingOn(process.pid, shmFile(shm.name), MUTEX_WORD);
    expect(await holder.kill()).toBe('SIGKILL');

    const { ownerDied } = await lockedHere;
    expect(here.held).toBe(true);
    if (ownerDied) here.markConsistent();
    here.unlock();
    const exits = await Promise.all(lockers.map((l) => l.exited));
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    const reports = [ownerDied ? 'owner-died' : 'locked', ...lockers.map((l) => l.output().split('\n')[1])];
    expect(reports.filter((r) => r === 'owner-died')).toHaveLength(1);
    expect(reports.filter((r) => r === 'locked')).toHaveLength(2);
    expect(here.tryLock()).toBe(true);
    expect(here.ownerDied).toBe(false);
    here.unlock();
  });

  test('waiters killed mid-lock (Node lock(), Node lockSync(), C): the holder here unlocks normally and a third locker gets the mutex without ownerDied', async () => {
    const shm = memory();
    const mutex = Mutex.create(shm, MUTEX);
    await mutex.lock();
    const waiters = [
      await startPeer('node', 'mutex-lock', shm.name, MUTEX, 'async'),
      await startPeer('node', 'mutex-lock', shm.name, MUTEX, 'sync'),
      await startPeer('c', 'mutex-lock', shm.name, MUTEX),
    ];
    for (const waiter of waiters) await sleepingOn(waiter.pid, shmFile(shm.name), MUTEX_WORD);
    for (const waiter of waiters) await killWaiting(waiter);

    const third = await startPeer('node', 'mutex-take', shm.name, MUTEX, 'async');
    await sleepingOn(third.pid, shmFile(shm.name), MUTEX_WORD);
    mutex.unlock();
    expect(await third.exited).toEqual({ code: 0, signal: null });
    expect(third.output()).toBe('ready\nlocked\n');
    expect(mutex.tryLock()).toBe(true);
    expect(mutex.ownerDied).toBe(false);
    mutex.unlock();
  });
});

describe('Condition', () => {
  test('waiters killed mid-wait (Node wait(), Node waitSync(), C ipckit_cond_wait): the mutex is left free and consistent; a wait here is woken by one notify() and returns ok with the mutex', async () => {
    const shm = memory();
    Mutex.create(shm, MUTEX);
    Condition.create(shm, COND);
    const peers = [
      await startPeer('node', 'cond-wait', shm.name, MUTEX, COND, 'async'),
      await startPeer('node', 'cond-wait', shm.name, MUTEX, COND, 'sync'),
      await startPeer('c', 'cond-wait', shm.name, MUTEX, COND),
    ];
    for (const peer of peers) await sleepingOn(peer.pid, shmFile(shm.name), COND_SEQ);
    const mine = open(shm.name);
    const mutex = Mutex.open(mine, MUTEX);
    const cond = Condition.open(mine, COND);
    await mutex.lock();
    let settled = false;
    const waitingHere = cond.wait(mutex, { timeout: 60000 }).then((r) => ((settled = true), r));
    await sleepingOn(process.pid, shmFile(shm.name), COND_SEQ);
    for (const peer of peers) await killWaiting(peer);

    // The dead waiters had released the mutex inside their waits: it is free, not owner-died.
    const other = Mutex.open(open(shm.name), MUTEX);
    expect(other.tryLock()).toBe(true);
    expect(other.ownerDied).toBe(false);
    other.unlock();
    const staleWaiters = shm.view(Uint32Array, COND + 12, 1)[0];
    console.log(`condition waiters counted after 3 waiters were killed and 1 still waits: ${staleWaiters}`);
    expect(settled).toBe(false);
    expect(Condition.open(shm, COND).notify()).toBe(1);
    expect(await waitingHere).toBe('ok');
    expect(mutex.held).toBe(true);
    expect(mutex.ownerDied).toBe(false);
    mutex.unlock();
  });

  describe.each([
    ['wait() here', 'here'],
    ['waitSync() in a worker thread', 'worker'],
    ['waitSync() in a child process', 'child'],
  ] as const)('the mutex holder killed while %s waits on the condition', (_label, where) => {
    test.each([
      ['notified', 'node'],
      ['timed out', 'c'],
    ] as const)('%s: the waiter comes back with the mutex held and ownerDied === true', async (ending, holderKind) => {
      const shm = memory();
      Mutex.create(shm, MUTEX);
      Condition.create(shm, COND);
      // The holder must hold the mutex when the waiter comes back for it. It is started before
      // the wait and left blocked on the mutex the waiter holds, so the kernel hands it the mutex
      // the moment the wait releases it: no process start races the timed-out rows' timeout,
      // which only has to outlast one wake-up (ordering is checked below, never elapsed time).
      const timeout = ending === 'timed out' ? 3000 : undefined;
      let report: () => Promise<{ result?: string; code?: string; held: boolean; ownerDied: boolean }>;
      let settled: () => boolean;
      let startWaiting: () => void;
      if (where === 'here') {
        const mutex = Mutex.open(open(shm.name), MUTEX);
        const cond = Condition.open(mutex.memory, COND);
        await mutex.lock();
        let done = false;
        let waiting: ReturnType<typeof report> | undefined;
        startWaiting = () => {
          waiting = cond.wait(mutex, { timeout }).then(
            (result) => ((done = true), { result, held: mutex.held, ownerDied: mutex.ownerDied }),
            (error) => ((done = true), { code: (error as NodeJS.ErrnoException).code, held: mutex.held, ownerDied: mutex.ownerDied }),
          );
        };
        cleanups.push(() => mutex.held && mutex.unlock());
        report = () => waiting!;
        settled = () => done;
      } else if (where === 'worker') {
        const w = worker(
          shm.name,
          `const mutex = Mutex.open(shm, ${MUTEX});
           const cond = Condition.open(shm, ${COND});
           mutex.lockSync();
           parentPort.once('message', () => {
             let report;
             try {
               const result = cond.waitSync(mutex, { timeout: ${timeout ?? 'undefined'} });
               report = { result, held: mutex.held, ownerDied: mutex.ownerDied };
             } catch (error) {
               report = { code: error.code, held: mutex.held, ownerDied: mutex.ownerDied };
             }
             post(report);
             if (mutex.held) { if (mutex.ownerDied) mutex.markConsistent(); mutex.unlock(); }
             shm.close();
           });
           post('ready');`,
        );
        expect(await w.next()).toBe('ready');
        startWaiting = () => w.post('wait');
        report = w.next as typeof report;
        settled = () => w.messages.length > 1;
      } else {
        const child = await startPeer('node', 'cond-wait', shm.name, MUTEX, COND, 'sync', timeout ?? '-', 'gated');
        startWaiting = () => process.kill(child.pid, 'SIGUSR2');
        report = async () => {
          await until('the waiting child reports', () => child.output().split('\n').length > 2);
          return JSON.parse(child.output().split('\n')[1]);
        };
        settled = () => child.output().split('\n').length > 2;
      }

      // The holder blocks on the mutex the waiter holds; the wait releases it, the holder takes it
      // and dies holding it.
      const holder = await startPeer(holderKind, 'mutex-lock', shm.name, MUTEX);
      await sleepingOn(holder.pid, shmFile(shm.name), MUTEX_WORD);
      startWaiting();
      await holder.line('locked');
      expect(settled()).toBe(false);
      expect(await holder.kill()).toBe('SIGKILL');
      if (ending === 'notified') {
        const notifier = Condition.open(shm, COND);
        await until('a notify wakes the waiter', () => notifier.notify() > 0);
      }
      const got = await report();
      expect(got).toEqual({ result: ending === 'notified' ? 'ok' : 'timed-out', held: true, ownerDied: true });
    });
  });
});

describe('Barrier', () => {
  // A party that is killed while it waits has already arrived, and nobody can take that arrival
  // back for it (only a waiter that times out or is aborted withdraws its own). What the tests
  // assert is what a correct barrier can still do: the dead arrival stays counted in its round
  // (the state word shows it); survivors time out cleanly, withdrawing only their own arrivals;
  // the round completes when the remaining parties - 1 arrive (so a replacement for the dead
  // party must not wait in that round); and from the next round on, all parties are needed again.
  test.each([
    ['a Node party in wait()', 'node', 'async'],
    ['a Node party in waitSync()', 'node', 'sync'],
    ['a C party', 'c', undefined],
  ] as const)(
    '%s killed while waiting: its arrival stays; survivors time out cleanly; the round completes with the others; the next needs everyone',
    async (_label, kind, how) => {
      const shm = memory();
      const barrier = Barrier.create(shm, BARRIER, 3);
      const state = shm.view(Uint32Array, BARRIER_STATE, 1);
      const arrived = () => state[0] & 0xffff;
      const generation = () => state[0] >>> 16;
      const victim = await startPeer(kind, 'barrier', shm.name, BARRIER, ...(how === undefined ? [] : [how]));
      await sleepingOn(victim.pid, shmFile(shm.name), BARRIER_STATE);
      await killWaiting(victim);
      expect([generation(), arrived()]).toEqual([0, 1]);

      // Survivors: each times out, taking back its own arrival and no other.
      expect((await rejection(barrier.wait({ timeout: 100 }))).code).toBe(ErrorCodes.TIMEOUT);
      expect(thrown(() => barrier.waitSync({ timeout: 100 })).code).toBe(ErrorCodes.TIMEOUT);
      expect([generation(), arrived()]).toEqual([0, 1]);

      // The round the dead party joined completes with the two others.
      const partner = await startPeer('c', 'barrier', shm.name, BARRIER);
      await sleepingOn(partner.pid, shmFile(shm.name), BARRIER_STATE);
      await until('the partner arrived', () => arrived() === 2);
      expect(await barrier.wait({ timeout: 30000 })).toBe(true); // the last to arrive releases the round
      expect(await partner.exited).toEqual({ code: 0, signal: null });
      expect(partner.output()).toBe('ready\nok\n');
      expect([generation(), arrived()]).toEqual([1, 0]);

      // The next round needs all three again: two are not enough...
      const second = await startPeer('node', 'barrier', shm.name, BARRIER, 'async');
      await sleepingOn(second.pid, shmFile(shm.name), BARRIER_STATE);
      expect((await rejection(barrier.wait({ timeout: 100 }))).code).toBe(ErrorCodes.TIMEOUT);
      expect([generation(), arrived()]).toEqual([1, 1]);
      // ...three are.
      const third = await startPeer('c', 'barrier', shm.name, BARRIER);
      await sleepingOn(third.pid, shmFile(shm.name), BARRIER_STATE);
      await until('both peers arrived', () => arrived() === 2);
      const last = await barrier.wait({ timeout: 30000 });
      const outputs = await Promise.all([second, third].map(async (p) => (await p.exited, p.output())));
      expect(last).toBe(true); // the last to arrive releases the round
      expect(outputs).toEqual(['ready\nok\n', 'ready\nok\n']);
      expect([generation(), arrived()]).toEqual([2, 0]);
    },
  );
});

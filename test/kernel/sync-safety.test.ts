// Regression tests for what fuzzing found in the waits and locks inside shared memory: waits of
// several objects in one mapping, overwritten bytes of a held mutex (by this process and by a
// peer), overlapping objects, a condition whose mutex holder dies, aborted and queued waits,
// argument checks, and the descriptor a closed mapping keeps. Whatever could crash runs in a
// child process, so a failure shows as a signal instead of taking jest down.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Barrier, Condition, Mutex, SharedMemory, wait, waitAsync } from '../../lib';
import { eventually, fixtures, kill, shmNames, sleepingOn, thrown } from '../helpers';

const newName = shmNames('safety');

const settled = <T>(promise: Promise<T>) => {
  const state = { done: false, value: undefined as unknown, code: undefined as string | undefined };
  promise.then(
    (value) => Object.assign(state, { done: true, value }),
    (error) => Object.assign(state, { done: true, code: error.code }),
  );
  return state;
};
const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));
// No deadline of its own: the test's timeout is the only clock (see eventually()).
const until = (check: () => boolean, what: string): Promise<void> => eventually(what, check, 10);

/** A child process running test/fixtures/sync-holder.js on one shared-memory object. */
class Holder {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #lines: string[] = [];
  #waiters: (() => void)[] = [];
  #stderr = '';

  constructor(name: string) {
    this.child = spawn(process.execPath, [path.join(fixtures, 'sync-holder.js'), name], { stdio: ['pipe', 'pipe', 'pipe'] });
    let buffered = '';
    this.child.stdout!.on('data', (chunk) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      this.#lines.push(...parts);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.child.stderr!.on('data', (chunk) => (this.#stderr += chunk));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** The next JSON line the child prints. */
  async next(): Promise<Record<string, unknown>> {
    while (this.#lines.length === 0) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`holder exited (${this.child.exitCode ?? this.child.signalCode}): ${this.#stderr}`);
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        this.child.once('exit', () => resolve());
      });
    }
    return JSON.parse(this.#lines.shift()!);
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  async do(line: string): Promise<Record<string, unknown>> {
    this.send(line);
    return this.next();
  }

  /** Ends the child normally and returns how it exited. */
  async end(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.stdin!.end();
    return this.exited;
  }
}

// Holders still running when a test ends (it failed midway) are killed, so none outlives jest.
const holders: Holder[] = [];
afterEach(async () => {
  await Promise.all(holders.splice(0).map((holder) => kill(holder.child)));
});

async function startHolder(name: string): Promise<Holder> {
  const holder = new Holder(name);
  holders.push(holder);
  expect(await holder.next()).toEqual({ ready: true });
  return holder;
}

function withMemory(size = 4096): { name: string; shm: SharedMemory } {
  const name = newName();
  return { name, shm: SharedMemory.create(name, { size }) };
}

// Byte offsets inside ipckit_mutex_t of glibc's robust-list links (16 + offsetof(__list)).
const LINKS = 40;
const LINKS_END = 56;
// The pthread_mutex_t's lock word inside ipckit_mutex_t at offset 0, which lockers sleep on.
const MUTEX_WORD = 16;

describe('waits of several objects in one mapping', () => {
  test('two barriers: the short wait times out, the long one stays pending until close() settles it', async () => {
    const { shm } = withMemory();
    const short = settled(Barrier.create(shm, 0, 2).wait({ timeout: 100 }));
    const long = settled(Barrier.create(shm, 64, 2).wait({ timeout: 60000 }));
    await until(() => short.done, 'the short wait');
    expect(short.code).toBe('ERR_IPC_TIMEOUT');
    await tick(200);
    expect(long.done).toBe(false);
    shm.close();
    await until(() => long.done, 'the long wait after close');
    expect(long.code).toBe('ERR_IPC_CLOSED');
  });

  test('a waitAsync, a Barrier wait and a queued Mutex.lock in one mapping each settle on their own and all on close()', async () => {
    const { shm } = withMemory();
    const holder = Mutex.create(shm, 128);
    holder.lockSync();
    const words = shm.view(Int32Array, 0, 4);
    const aborter = new AbortController();
    const first = settled(waitAsync(words, 0, 0, { signal: aborter.signal, spin: 0 }));
    const second = settled(waitAsync(words, 1, 0, { spin: 0 }));
    const barrier = settled(Barrier.create(shm, 64, 2).wait());
    const other = Mutex.open(shm, 128);
    const lock = settled(other.lock());
    await tick(100);
    aborter.abort();
    await until(() => first.done, 'the aborted wait');
    expect(first.code).toBe('ERR_IPC_ABORTED');
    await tick(100);
    expect([second.done, barrier.done, lock.done]).toEqual([false, false, false]);
    shm.close();
    await until(() => second.done && barrier.done && lock.done, 'every wait after close');
    expect([second.code, barrier.code, lock.code]).toEqual(['ERR_IPC_CLOSED', 'ERR_IPC_CLOSED', 'ERR_IPC_CLOSED']);
    holder.unlock();
  });
});

describe('a held mutex whose bytes are overwritten', () => {
  test('by this process: unlock() reports ERR_IPC_MUTEX_CORRUPT and the process lives on', async () => {
    const { name, shm } = withMemory();
    Mutex.create(shm, 0);
    const holder = await startHolder(name);
    expect(await holder.do('lock 0')).toMatchObject({ ok: true });
    expect(await holder.do(`fill ${LINKS} ${LINKS_END} 65`)).toEqual({ ok: true });
    expect(await holder.do('unlock 0')).toEqual({ code: 'ERR_IPC_MUTEX_CORRUPT' });
    // Its lock word still named the holder, so it was released: anyone can take it again.
    const mine = Mutex.open(shm, 0);
    expect(mine.tryLock()).toBe(true);
    mine.unlock();
    expect(await holder.do('lock 0')).toEqual({ ok: true, ownerDied: false });
    expect(await holder.do('unlock 0')).toEqual({ ok: true });
    expect(await holder.end()).toEqual({ code: 0, signal: null });
    shm.close();
  });

  test('by a peer, in the middle of three held mutexes: the robust list stays intact, so the kernel still reports the others owner-died', async () => {
    const { name, shm } = withMemory();
    for (const offset of [0, 64, 128]) Mutex.create(shm, offset);
    const holder = await startHolder(name);
    for (const offset of [0, 64, 128]) expect(await holder.do(`lock ${offset}`)).toMatchObject({ ok: true });
    // This process plays the peer with write access.
    shm.buffer.fill(0x41, 64 + LINKS, 64 + LINKS_END);
    expect(await holder.do('unlock 64')).toEqual({ code: 'ERR_IPC_MUTEX_CORRUPT' });
    await kill(holder.child);
    expect((await holder.exited).signal).toBe('SIGKILL');
    // The kernel walked the dead holder's robust list (which ipckit had repaired by hand) and
    // marked both mutexes it still held.
    for (const offset of [0, 128]) {
      const mutex = Mutex.open(shm, offset);
      expect(mutex.lockSync({ timeout: 5000 })).toEqual({ ownerDied: true });
      mutex.markConsistent();
      mutex.unlock();
    }
    const middle = Mutex.open(shm, 64);
    expect(middle.lockSync({ timeout: 5000 })).toEqual({ ownerDied: false });
    middle.unlock();
    shm.close();
  });

  test('wiped entirely by a peer: unlock() reports it without releasing what is no longer its lock, and the garbage is never locked', async () => {
    const { name, shm } = withMemory();
    Mutex.create(shm, 0);
    Mutex.create(shm, 64);
    const holder = await startHolder(name);
    expect(await holder.do('lock 64')).toMatchObject({ ok: true });
    expect(await holder.do('lock 0')).toMatchObject({ ok: true });
    shm.buffer.fill(0, 16, 64); // the whole pthread_mutex_t of the mutex at 0; its magic stays
    expect(await holder.do('unlock 0')).toEqual({ code: 'ERR_IPC_MUTEX_CORRUPT' });
    expect(await holder.do('lock 0')).toEqual({ code: 'ERR_IPC_MUTEX_CORRUPT' });
    expect(thrown(() => Mutex.open(shm, 0).tryLock()).code).toBe('ERR_IPC_MUTEX_CORRUPT');
    // The other mutex still unlocks normally, and can be re-created and used once the garbage
    // one is re-created.
    expect(await holder.do('unlock 64')).toEqual({ ok: true });
    expect(await holder.do('create Mutex 0')).toEqual({ ok: true });
    expect(await holder.do('lock 0')).toEqual({ ok: true, ownerDied: false });
    expect(await holder.do('unlock 0')).toEqual({ ok: true });
    expect(await holder.end()).toEqual({ code: 0, signal: null });
    shm.close();
  });

  test('re-creating a mutex this thread holds is refused (ERR_IPC_MUTEX_HELD)', () => {
    const { shm } = withMemory();
    const mutex = Mutex.create(shm, 0);
    mutex.lockSync();
    expect(thrown(() => Mutex.create(shm, 0)).code).toBe('ERR_IPC_MUTEX_HELD');
    mutex.unlock();
    Mutex.create(shm, 0); // allowed once unlocked
    shm.close();
  });
});

describe('overlapping objects in one mapping', () => {
  test('are refused with ERR_IPC_OBJECT_OVERLAP; the same object twice is fine', async () => {
    const { name, shm } = withMemory();
    const mutex = Mutex.create(shm, 0);
    expect(thrown(() => Condition.create(shm, 40)).code).toBe('ERR_IPC_OBJECT_OVERLAP');
    expect(thrown(() => Barrier.create(shm, 56, 2)).code).toBe('ERR_IPC_OBJECT_OVERLAP');
    expect(thrown(() => Mutex.create(shm, 32)).code).toBe('ERR_IPC_OBJECT_OVERLAP');
    expect(thrown(() => Condition.open(shm, 0)).code).toBe('ERR_IPC_OBJECT_OVERLAP');
    Mutex.open(shm, 0);
    Condition.create(shm, 64); // right after the mutex: adjacent, not overlapping
    Barrier.create(shm, 96, 2);
    expect(thrown(() => Barrier.create(shm, 88, 2)).code).toBe('ERR_IPC_OBJECT_OVERLAP');
    expect(thrown(() => Condition.create(shm, 120)).code).toBe('ERR_IPC_OBJECT_OVERLAP');
    // A failed open records nothing.
    expect(thrown(() => Barrier.open(shm, 256)).code).toBe('ERR_INVALID_ARG_VALUE');
    Condition.create(shm, 256);
    // The case fuzzing found: a Condition over a held mutex's robust-list links, in a child.
    const holder = await startHolder(name);
    expect(await holder.do('lock 0')).toMatchObject({ ok: true });
    expect(await holder.do('create Condition 40')).toEqual({ code: 'ERR_IPC_OBJECT_OVERLAP' });
    expect(await holder.do('unlock 0')).toEqual({ ok: true });
    expect(await holder.end()).toEqual({ code: 0, signal: null });
    expect(mutex.tryLock()).toBe(true);
    mutex.unlock();
    shm.close();
  });
});

describe('Condition', () => {
  async function holderDiesDuringWait(command: 'condwait' | 'condwaitasync', timeout: string) {
    const { name, shm } = withMemory();
    Mutex.create(shm, 0);
    const cond = Condition.create(shm, 64);
    const waiter = await startHolder(name);
    const thief = await startHolder(name);
    expect(await waiter.do('lock 0')).toMatchObject({ ok: true });
    // The thief blocks until the waiter's wait releases the mutex, then holds it until killed. It
    // is seen asleep on the mutex before the wait starts, so it takes the mutex at the release:
    // the timed-out row's timeout never races the thief getting there.
    thief.send('lock 0');
    await sleepingOn(thief.child.pid!, `/dev/shm/${name.slice(1)}`, MUTEX_WORD);
    waiter.send(`${command} 64 0 ${timeout}`);
    expect(await thief.next()).toEqual({ ok: true, ownerDied: false });
    await kill(thief.child);
    if (timeout === '-') cond.notify();
    // Relocking found the thief dead: the waiter is told, as lock() would tell it.
    expect(await waiter.next()).toEqual({ ok: true, result: timeout === '-' ? 'ok' : 'timed-out', held: true, ownerDied: true });
    expect(await waiter.do('consistent 0')).toEqual({ ok: true });
    expect(await waiter.do('unlock 0')).toEqual({ ok: true });
    expect(await waiter.end()).toEqual({ code: 0, signal: null });
    const mutex = Mutex.open(shm, 0);
    expect(mutex.lockSync({ timeout: 5000 })).toEqual({ ownerDied: false }); // still recoverable
    mutex.unlock();
    shm.close();
  }

  test('waitSync reports a mutex holder that died while it waited (notified)', () => holderDiesDuringWait('condwait', '-'));
  test('waitSync reports a mutex holder that died while it waited (timed out)', () => holderDiesDuringWait('condwait', '3000'));
  test('wait reports a mutex holder that died while it waited (notified)', () => holderDiesDuringWait('condwaitasync', '-'));

  test('wait() with an already-aborted signal rejects at once and keeps the mutex held', async () => {
    const { shm } = withMemory();
    const mutex = Mutex.create(shm, 0);
    const cond = Condition.create(shm, 64);
    mutex.lockSync();
    const aborter = new AbortController();
    aborter.abort();
    const waiting = settled(cond.wait(mutex, { signal: aborter.signal }));
    await until(() => waiting.done, 'the aborted condition wait');
    expect(waiting.code).toBe('ERR_IPC_ABORTED');
    expect(mutex.held).toBe(true);
    expect(Mutex.open(shm, 0).tryLock()).toBe(false);
    mutex.unlock();
    shm.close();
  });
});

describe('argument and lifetime checks', () => {
  test('the synchronous wait() refuses options that are not an object', () => {
    const { shm } = withMemory();
    const word = shm.view(Int32Array, 0, 1);
    for (const options of [null, 5, [], 'x', true]) {
      expect(thrown(() => wait(word, 0, 0, options as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    }
    expect(wait(word, 0, 1, {})).toBe('not-equal');
    shm.close();
  });

  test('closing the memory settles a lock() queued behind another lock() of the same handle', async () => {
    const { shm } = withMemory();
    const mutex = Mutex.create(shm, 0);
    await mutex.lock();
    const queued = settled(mutex.lock());
    await tick(50);
    expect(queued.done).toBe(false);
    shm.close();
    await until(() => queued.done, 'the queued lock');
    expect(queued.code).toBe('ERR_IPC_CLOSED');
    mutex.unlock(); // allowed after close: the memory stayed mapped for the held mutex
  });

  test('close() while a mutex is held releases the descriptor at once; the mapping waits for the unlock', () => {
    const { name, shm } = withMemory();
    const mutex = Mutex.create(shm, 0);
    mutex.lockSync();
    const target = `/dev/shm/${name.slice(1)}`;
    const openHere = () =>
      fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`) === target;
        } catch {
          return false;
        }
      }).length;
    const mapped = () =>
      fs
        .readFileSync('/proc/self/maps', 'utf8')
        .split('\n')
        .filter((line) => line.endsWith(target)).length;
    expect(openHere()).toBe(1);
    shm.close();
    expect(openHere()).toBe(0);
    expect(mapped()).toBe(1);
    mutex.unlock();
    expect(mapped()).toBe(0);
  });

  test('constructors of every public class throw ERR_ILLEGAL_CONSTRUCTOR', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ipckit = require('../../lib') as Record<string, unknown>;
    const classes = Object.entries(ipckit).filter(([key, value]) => typeof value === 'function' && /^[A-Z]/.test(key) && key !== 'IpcError');
    expect(classes.map(([key]) => key).sort()).toEqual([
      'Barrier',
      'Channel',
      'Condition',
      'EventFd',
      'Fifo',
      'IpcObject',
      'Mailslot',
      'MailslotWriter',
      'MappedFile',
      'Mapping',
      'Mutex',
      'NamedPipe',
      'NamedPipeServer',
      'PosixMessageQueue',
      'Semaphore',
      'SharedMemory',
      'SysVMessageQueue',
      'SysVSemaphoreSet',
      'SysVSharedMemory',
      'UnixServer',
      'UnixSocket',
    ]);
    for (const [, Class] of classes) {
      // Arguments that would themselves throw when the constructor evaluates them (BigInt keys)
      // must not get that far.
      for (const args of [[], [{}], [{}, 'x'], [Symbol('ipckit construct'), {}, 'x'], [undefined, {}, -1n], [1n, 1n, 1n]]) {
        const error = thrown(() => new (Class as new (...a: unknown[]) => unknown)(...args));
        expect(error).toBeInstanceOf(TypeError);
        expect(error.code).toBe('ERR_ILLEGAL_CONSTRUCTOR');
      }
    }
  });
});

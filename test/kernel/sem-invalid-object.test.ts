// Whatever sits at a semaphore's name in /dev/shm, opening it gives a coded error or a working
// semaphore, never a mapping past the end of a file (SIGBUS on the first post). Anyone can plant
// /dev/shm/sem.NAME, so the risky calls run in a child process (test/fixtures/sem-planted.js),
// where a crash shows as a signal instead of killing jest.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { MappedFile, Semaphore } from '../../lib';
import { compileC, isRoot, run, runAsNobody, runNode, stagePackage, uniqueName, type RunResult } from '../helpers';

/** glibc's sizeof(sem_t) on 64-bit Linux (the C helper below prints what glibc writes). */
const SEM_T_SIZE = 32;
const semFile = (name: string) => `/dev/shm/sem.${name.replace(/^\//, '')}`;

const planted: string[] = [];
const opened: Semaphore[] = [];
afterEach(() => {
  for (const sem of opened.splice(0)) sem.close();
  for (const name of planted.splice(0)) fs.rmSync(semFile(name), { recursive: true, force: true });
});

/** A fresh name whose /dev/shm file is removed after the test, whatever was put there. */
function newName(): string {
  const name = uniqueName('sem-planted');
  planted.push(name);
  return name;
}

interface Attempt {
  opened?: boolean;
  value?: number;
  code?: string;
  syscall?: string;
  message?: string;
}

async function openInChild(name: string): Promise<{ result: RunResult; open: Attempt; openOrCreate: Attempt }> {
  const result = await runNode('sem-planted.js', [name], { timeout: 30000 });
  // The child lived and reported: no SIGBUS, no abort.
  expect({ signal: result.signal, code: result.code, stderr: result.stderr }).toEqual({ signal: null, code: 0, stderr: '' });
  return { result, ...JSON.parse(result.stdout) };
}

function expectInvalid(attempt: Attempt, name: string, detail: RegExp) {
  expect(attempt.code).toBe('ERR_IPC_INVALID_OBJECT');
  expect(attempt.message).toContain(name);
  expect(attempt.message).toContain(semFile(name));
  expect(attempt.message).toMatch(detail);
}

describe('a name that holds something other than a semaphore is refused, and left as it is', () => {
  test('an empty file (made with MappedFile.open(..., { create: true }), as any local user can)', async () => {
    const name = newName();
    MappedFile.open(semFile(name), { create: true }).close();
    expect(fs.statSync(semFile(name)).size).toBe(0);
    const { open, openOrCreate } = await openInChild(name);
    expectInvalid(open, name, new RegExp(`0 bytes.*${SEM_T_SIZE}`));
    expectInvalid(openOrCreate, name, new RegExp(`0 bytes.*${SEM_T_SIZE}`));
    expect(fs.statSync(semFile(name)).size).toBe(0); // not repaired behind the owner's back
  });

  test('a short file (8 bytes)', async () => {
    const name = newName();
    fs.writeFileSync(semFile(name), Buffer.alloc(8, 0x41), { mode: 0o600 });
    const { open, openOrCreate } = await openInChild(name);
    expectInvalid(open, name, new RegExp(`8 bytes.*${SEM_T_SIZE}`));
    expectInvalid(openOrCreate, name, new RegExp(`8 bytes.*${SEM_T_SIZE}`));
    expect(fs.readFileSync(semFile(name))).toEqual(Buffer.alloc(8, 0x41));
  });

  test('a FIFO', async () => {
    const name = newName();
    execFileSync('mkfifo', ['-m', '600', semFile(name)]);
    const { open, openOrCreate } = await openInChild(name);
    expectInvalid(open, name, /FIFO/);
    expectInvalid(openOrCreate, name, /FIFO/);
    expect(fs.lstatSync(semFile(name)).isFIFO()).toBe(true);
  });

  test('a directory', async () => {
    const name = newName();
    fs.mkdirSync(semFile(name), { mode: 0o700 });
    const { open, openOrCreate } = await openInChild(name);
    expectInvalid(open, name, /directory/);
    expectInvalid(openOrCreate, name, /directory/);
    expect(fs.lstatSync(semFile(name)).isDirectory()).toBe(true);
  });

  test('a symbolic link, even to a valid semaphore, and a dangling one', async () => {
    const target = newName();
    opened.push(Semaphore.create(target, { initial: 4 }));
    const name = newName();
    fs.symlinkSync(semFile(target), semFile(name));
    const linked = await openInChild(name);
    expectInvalid(linked.open, name, /symbolic link/);
    expectInvalid(linked.openOrCreate, name, /symbolic link/);
    expect(opened[0].value).toBe(4); // nothing posted through the link

    const dangling = newName();
    fs.symlinkSync(semFile(newName()), semFile(dangling));
    const result = await openInChild(dangling);
    expectInvalid(result.open, dangling, /symbolic link/);
    // openOrCreate neither creates the link's target nor replaces the link.
    expectInvalid(result.openOrCreate, dangling, /symbolic link/);
    expect(fs.lstatSync(semFile(dangling)).isSymbolicLink()).toBe(true);
    expect(fs.existsSync(fs.readlinkSync(semFile(dangling)))).toBe(false);
  });

  test('a file of the right size owned by another user with mode 0600 fails with EACCES, as before', async () => {
    if (!isRoot) throw new Error('this test drops to `nobody` and needs root to do so');
    const name = newName();
    opened.push(Semaphore.create(name, { mode: 0o600 }));
    expect(fs.statSync(semFile(name)).size).toBe(SEM_T_SIZE);
    const stage = stagePackage();
    try {
      const denied = await runAsNobody(stage, 'sem-planted.js', [name]);
      expect(denied.signal).toBeNull();
      const report = JSON.parse(denied.stdout);
      expect(report.open).toMatchObject({ code: 'EACCES', syscall: 'sem_open' });
      expect(report.openOrCreate).toMatchObject({ code: 'EACCES', syscall: 'sem_open' });
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  });
});

describe('valid semaphores still open', () => {
  test('one glibc made (sem_open in C) opens, keeps its value and mode, and wakes C and Node both ways', async () => {
    const name = newName();
    const created = await run(compileC('sem_create.c'), [name, '2']);
    expect(created).toMatchObject({ code: 0, stdout: `created ${SEM_T_SIZE}\n`, stderr: '' });
    const sem = Semaphore.openOrCreate(name, { initial: 9, mode: 0o666 });
    opened.push(sem);
    expect(sem.created).toBe(false);
    expect(sem.value).toBe(2);
    expect(fs.statSync(semFile(name)).mode & 0o777).toBe(0o600);
    await sem.wait({ timeout: 5000 });
    expect(sem.tryWait()).toBe(true);
    expect(sem.tryWait()).toBe(false);

    // C waits in sem_wait; a post from Node wakes it.
    const peer = compileC('sem_peer.c');
    const waiter = run(peer, ['wait', name], { timeout: 30000 });
    sem.post();
    expect(await waiter).toMatchObject({ code: 0, stdout: 'waiting\nwoke\n', stderr: '' });
    // Node waits on a waiter thread; a post from C wakes it.
    const pending = sem.wait({ timeout: 30000 });
    expect(await run(peer, ['post', name])).toMatchObject({ code: 0, stdout: 'posted 1\n' });
    await pending;
    expect(sem.value).toBe(0);
  });

  test('one ipckit made opens in C and in another Node process', async () => {
    const name = newName();
    const sem = Semaphore.create(name, { initial: 0 });
    opened.push(sem);
    expect(fs.statSync(semFile(name)).size).toBe(SEM_T_SIZE);
    expect(await run(compileC('sem_peer.c'), ['post', name, '3'])).toMatchObject({ code: 0, stdout: 'posted 3\n' });
    const { open, openOrCreate } = await openInChild(name);
    expect(open).toEqual({ opened: true, value: 4 });
    expect(openOrCreate).toEqual({ opened: true, value: 5 });
    expect(sem.value).toBe(5);
  });
});

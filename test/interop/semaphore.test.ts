// Named semaphores across processes and languages: a lock shared by Node (await wait() and
// waitSync()) and C, and wake-ups both ways between Node and C, and Node and Python (ctypes).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Semaphore, SharedMemory } from '../../lib';
import { compileC, python, pythonDir, run, runNode, uniqueName, type RunResult } from '../helpers';

const names: string[] = [];
const shmNames: string[] = [];
const opened: { close(): void }[] = [];
afterEach(() => {
  for (const handle of opened.splice(0)) handle.close();
  for (const name of names.splice(0)) {
    try {
      Semaphore.unlink(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  for (const name of shmNames.splice(0)) {
    try {
      SharedMemory.unlink(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
});

function createSemaphore(initial = 0): Semaphore {
  const name = uniqueName('sem-interop');
  names.push(name);
  const sem = Semaphore.create(name, { initial });
  opened.push(sem);
  return sem;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// A peer that dies leaves its partner waiting on the semaphore: every peer is killed after 60 s.
const LIMIT = { timeout: 60000 };

function expectOk(result: RunResult, stdout: string) {
  expect(result.stderr).toBe('');
  expect(result.stdout).toBe(stdout);
  expect(result.code).toBe(0);
}

test('a lock for 4 processes: 2 Node with await wait(), 1 Node with waitSync(), 1 C; 80 000 increments, none lost', async () => {
  const ITERATIONS = 20000;
  // The lock starts taken and is released once every process is up, so all four contend.
  const sem = createSemaphore(0);
  const shmName = uniqueName('sem-counter');
  shmNames.push(shmName);
  const shm = SharedMemory.create(shmName, { size: 4096 });
  opened.push(shm);
  const counter = shm.view(Uint32Array, 0, 1);
  const peers = [
    runNode('named-sem-peer.js', ['counter', sem.name, shmName, String(ITERATIONS), 'async'], LIMIT),
    runNode('named-sem-peer.js', ['counter', sem.name, shmName, String(ITERATIONS), 'async'], LIMIT),
    runNode('named-sem-peer.js', ['counter', sem.name, shmName, String(ITERATIONS), 'sync'], LIMIT),
    run(compileC('sem_peer.c'), ['counter', sem.name, shmName, String(ITERATIONS)], LIMIT),
  ];
  await delay(1000);
  expect(counter[0]).toBe(0);
  const started = process.hrtime.bigint();
  sem.post();
  const results = await Promise.all(peers);
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  let contended = 0;
  for (const result of results) {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const match = /^counted (\d+) contended (\d+)\n$/.exec(result.stdout);
    expect(match?.[1]).toBe(String(ITERATIONS));
    contended += Number(match![2]);
  }
  // The processes did take the lock from each other, not one after another.
  expect(contended).toBeGreaterThan(0);
  expect(counter[0]).toBe(4 * ITERATIONS);
  expect(sem.value).toBe(1);
  console.log(`80 000 increments under the lock by 4 processes: ${elapsedMs.toFixed(0)} ms, the lock held elsewhere ${contended} times`);
});

describe.each(['C', 'Python'] as const)('Node and %s', (language) => {
  const peer = (command: string, name: string): [string, string[]] =>
    language === 'C' ? [compileC('sem_peer.c'), [command, name]] : [python, [path.join(pythonDir, 'sem_peer.py'), command, name]];

  test(`Node waits; a post from ${language} wakes it`, async () => {
    const sem = createSemaphore();
    let woke = false;
    const pending = sem.wait({ timeout: 30000 }).then(() => (woke = true));
    await delay(100);
    expect(woke).toBe(false);
    const [command, args] = peer('post', sem.name);
    expectOk(await run(command, args, LIMIT), 'posted 1\n');
    await pending;
    expect(sem.value).toBe(0);
  });

  test(`${language} waits; a post from Node wakes it`, async () => {
    const sem = createSemaphore();
    const [command, args] = peer('wait', sem.name);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...LIMIT });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk) => {
        stdout += chunk;
        if (stdout.includes('waiting\n')) resolve();
      });
      child.on('error', reject);
      exited.then(() => reject(new Error(`${language} peer exited early: ${stdout}${stderr}`)));
    });
    await delay(100);
    expect(child.exitCode).toBeNull(); // still blocked in sem_wait
    sem.post();
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toBe('waiting\nwoke\n');
    expect(sem.value).toBe(0);
  });
});

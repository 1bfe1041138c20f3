// EventFd across processes: the descriptor is inherited (fd 3 and 4 of the child), and Node and
// C ring each other's doorbells. Count-based: every signal is accounted for.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { EventFd } from '../../lib';
import { compileC, fixtures, type RunResult } from '../helpers';

const opened: EventFd[] = [];
const make = (options?: Parameters<typeof EventFd.create>[0]) => {
  const bell = EventFd.create(options);
  opened.push(bell);
  return bell;
};
afterEach(() => opened.splice(0).forEach((bell) => bell.close()));

/** Runs a child with `fds` as its descriptors 3, 4, ... */
function runWith(command: string, args: string[], fds: number[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe', ...fds], timeout: 60000 });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
const node = (args: string[], fds: number[]) => runWith(process.execPath, [path.join(fixtures, 'eventfd-peer.js'), ...args], fds);

async function drain(bell: EventFd, total: number): Promise<number> {
  let sum = 0;
  while (sum < total) sum += await bell.read({ timeout: 30000 });
  return sum;
}

test('a Node child signals 5000 times; the parent reads exactly 5000 in all', async () => {
  const bell = make();
  const [result, sum] = await Promise.all([node(['add', '5000'], [bell.fd]), drain(bell, 5000)]);
  expect(result).toMatchObject({ code: 0, stderr: '', stdout: 'added 5000\n' });
  expect(sum).toBe(5000);
  expect(bell.tryRead()).toBeNull();
});

test('a C program signals 5000 times; the parent reads exactly 5000 in all', async () => {
  const bell = make();
  const [result, sum] = await Promise.all([runWith(compileC('eventfd_peer.c'), ['add', '5000'], [bell.fd]), drain(bell, 5000)]);
  expect(result).toMatchObject({ code: 0, stderr: '', stdout: 'added 5000\n' });
  expect(sum).toBe(5000);
});

test('ping-pong with C: 10000 round trips, each read is exactly one ring', async () => {
  const toC = make();
  const fromC = make();
  const ROUNDS = 10000;
  const peer = runWith(compileC('eventfd_peer.c'), ['pong', String(ROUNDS)], [toC.fd, fromC.fd]);
  for (let i = 0; i < ROUNDS; i++) {
    toC.signal(1);
    expect(await fromC.read({ timeout: 30000 })).toBe(1);
  }
  expect(await peer).toMatchObject({ code: 0, stderr: '', stdout: `ponged ${ROUNDS}\n` });
});

test('ping-pong with a Node child: 2000 round trips', async () => {
  const toChild = make();
  const fromChild = make();
  const ROUNDS = 2000;
  const peer = node(['ping', String(ROUNDS)], [toChild.fd, fromChild.fd]);
  for (let i = 0; i < ROUNDS; i++) {
    expect(await fromChild.read({ timeout: 30000 })).toBe(1);
    toChild.signal(1);
  }
  expect(await peer).toMatchObject({ code: 0, stderr: '', stdout: `pinged ${ROUNDS}\n` });
});

test('semaphore mode with C: one signal of 1000 is taken as 1000 reads of 1', async () => {
  const bell = make({ semaphore: true });
  bell.signal(1000);
  const result = await runWith(compileC('eventfd_peer.c'), ['take', '1000'], [bell.fd]);
  expect(result).toMatchObject({ code: 0, stderr: '', stdout: 'took 1000\n' });
  expect(bell.tryRead()).toBeNull();
});

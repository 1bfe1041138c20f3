import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SharedMemory } from '../lib';

export const repoRoot = path.join(__dirname, '..');
export const fixtures = path.join(__dirname, 'fixtures');
/** The Python peers (test/python/). */
export const pythonDir = path.join(__dirname, 'python');
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const { pattern } = require('./fixtures/pattern') as { pattern: (size: number, seed: number) => Buffer };

let counter = 0;

/** A name no other test (or test run) uses. */
export function uniqueName(tag: string): string {
  counter += 1;
  return `/ipckit-test-${tag}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Names created by the current test file; removed after each test whether it passed or not.
 * Call once at the top of a test file.
 */
export function shmNames(tag: string): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const name of made.splice(0)) {
      try {
        SharedMemory.unlink(name);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  });
  return () => {
    const name = uniqueName(tag);
    made.push(name);
    return name;
  };
}

export function shmExists(name: string): boolean {
  return fs.existsSync(path.join('/dev/shm', name.replace(/^\//, '')));
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, collecting its output. */
export function run(command: string, args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function runNode(script: string, args: string[], options: SpawnOptions & { nodeArgs?: string[] } = {}): Promise<RunResult> {
  const { nodeArgs = [], ...rest } = options;
  return run(process.execPath, [...nodeArgs, path.join(fixtures, script), ...args], rest);
}

let scratch: string | undefined;
// jest evaluates this module once per test file, at collection time, so the hook below belongs
// to the file that imported it (process 'exit' never fires inside a jest test environment).
if (typeof afterAll === 'function') {
  afterAll(() => {
    if (scratch !== undefined) fs.rmSync(scratch, { recursive: true, force: true });
    scratch = undefined;
  });
}

/** A private temporary folder for this test file, removed after its last test. */
export function scratchDir(): string {
  if (scratch === undefined) {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ipckit-test-'));
    const dir = scratch;
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return scratch;
}

// Tests end; polls started by them must not go on (they would keep the worker busy for good).
let testGeneration = 0;
afterEach(() => {
  testGeneration += 1;
});

/**
 * Resolves once `check()` holds, polling every `intervalMs`. No deadline of its own (the machines
 * are shared and a child may take any time to get somewhere): the test's timeout is the only
 * clock, and a poll whose test has ended stops with an error naming `what`.
 */
export async function eventually(what: string, check: () => boolean, intervalMs = 5): Promise<void> {
  const generation = testGeneration;
  for (;;) {
    if (generation !== testGeneration) throw new Error(`never happened before the test ended: ${what}`);
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Compiles one of test/c/*.c with the system's cc and returns the executable's path. */
export function compileC(source: string, extraArgs: string[] = []): string {
  const output = path.join(scratchDir(), path.basename(source, '.c'));
  if (!fs.existsSync(output)) {
    execFileSync('cc', ['-O2', '-Wall', '-Werror', '-o', output, path.join(__dirname, 'c', source), ...extraArgs, '-lrt', '-lpthread']);
  }
  return output;
}

/** The Python that has the standard library's multiprocessing.shared_memory (the first on PATH). */
export const python = process.env.PYTHON ?? 'python3';

/**
 * LD_PRELOAD for a child with `library` preloaded, after what this process preloads already (under
 * scripts/sanitize.sh that is libasan, which must come first in every process).
 */
export function preloadWith(library: string): string {
  return [process.env.LD_PRELOAD, library].filter((part) => part !== undefined && part !== '').join(':');
}

/** Open descriptors of this process. */
export function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Starts a Node fixture and resolves once it prints `line`; the caller kills it. */
export function startNode(script: string, args: string[], line = 'ready', nodeArgs: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeArgs, path.join(fixtures, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.split('\n').includes(line)) resolve(child);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => reject(new Error(`${script} exited (${code ?? signal}) before "${line}": ${stdout}${stderr}`)));
  });
}

/** Kills a child and waits until it is gone. */
export function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.signalCode);
    child.once('exit', (_code, sig) => resolve(sig));
    child.kill(signal);
  });
}

/** Runs `fn` and returns what it threw; fails the test if it did not throw. */
export function thrown(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error('expected the call to throw');
}

/**
 * A copy of the built package that any user can read, for children run as `nobody` (root bypasses
 * the permission checks the tests are about, and the checkout may sit under a private home).
 */
export function stagePackage(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipckit-stage-'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const addon = path.relative(repoRoot, require('node-gyp-build').path(repoRoot));
  for (const part of ['package.json', 'dist', 'bin', addon, 'node_modules/node-gyp-build', 'test/fixtures']) {
    fs.cpSync(path.join(repoRoot, part), path.join(dir, part), { recursive: true });
  }
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** Runs a staged fixture as the unprivileged user `nobody`. */
export function runAsNobody(stage: string, script: string, args: string[]): Promise<RunResult> {
  return run(process.execPath, [path.join(stage, 'test/fixtures', script), ...args], {
    uid: 65534,
    gid: 65534,
    cwd: stage,
    env: { ...process.env, IPCKIT_ROOT: stage },
  });
}

export const isRoot = process.getuid?.() === 0;

/** A System V key no other test run uses. */
export function sysvKey(): number {
  return 0x1c000000 + ((process.pid & 0xfff) << 12) + Math.floor(Math.random() * 0xfff) + 1;
}

// ---- what the kernel says a process is doing (a wait is proved started, never assumed after a delay) ----

/** futex(2) on x86_64, as /proc/PID/task/TID/syscall reports it. */
const SYS_FUTEX = 202;

export interface Call {
  tid: number;
  nr: number;
  args: bigint[];
}

/** The system call each thread of `pid` is blocked in (threads running right now are left out). */
export function callsOf(pid: number): Call[] {
  const calls: Call[] = [];
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return calls;
  }
  for (const tid of tids) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').trim();
    } catch {
      continue;
    }
    const fields = text.split(' ');
    if (fields.length < 7 || fields[0] === 'running') continue;
    calls.push({ tid: Number(tid), nr: Number(fields[0]), args: fields.slice(1, 7).map((f) => BigInt(f)) });
  }
  return calls;
}

/**
 * The addresses at which byte `fileOffset` of `file` is mapped in `pid` (one per mapping). Matched
 * by inode, not by path: glibc's sem_open creates a semaphore under a temporary name and links it
 * into place, so the creator's mapping shows the temporary name.
 */
export function addressesOf(pid: number, file: string, fileOffset: number): bigint[] {
  const inode = fs.statSync(file).ino;
  const found: bigint[] = [];
  for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const match = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ (\d+)\s+\/dev\/shm\//.exec(line);
    if (match === null || Number(match[4]) !== inode) continue;
    const start = BigInt(`0x${match[1]}`);
    const end = BigInt(`0x${match[2]}`);
    const address = start + BigInt(fileOffset) - BigInt(`0x${match[3]}`);
    if (address >= start && address < end) found.push(address);
  }
  return found;
}

/** Resolves once a thread of `pid` sleeps in futex() on byte `offset` of `file` (or on any byte of [offset, offset + size)). */
export function sleepingOn(pid: number, file: string, offset: number, size = 4): Promise<void> {
  return eventually(`process ${pid} sleeps in futex() on ${file}+${offset}`, () => {
    const addresses = addressesOf(pid, file, offset);
    return callsOf(pid).some((call) => call.nr === SYS_FUTEX && addresses.some((a) => call.args[0] >= a && call.args[0] < a + BigInt(size)));
  });
}

// The ipckit command on objects made by programs nobody here wrote the IPC of: a C program
// (shm_open, sem_open, shmget, semget, msgget) and Python (multiprocessing.shared_memory and
// Debian's sysv_ipc). `ipckit ls` and `stat` see them with their owners, modes, sizes and pids and
// name the live processes that hold them; after the program is killed, as a crash would leave
// them, the objects are still there, and `ipckit rm` removes them, which C and Python confirm.
// System V figures are checked against ipcs, the system's own tool.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileC, kill, pythonDir, repoRoot, run, sysvKey, uniqueName, type RunResult } from '../helpers';

const SYSV_PYTHON = '/usr/bin/python3'; // Debian's python3-sysv-ipc is installed for this one
const bin = path.join(repoRoot, 'bin', 'ipckit.js');
const LIMIT = { timeout: 60000 };

const ipckit = (...args: string[]): Promise<RunResult> => run(process.execPath, [bin, ...args], LIMIT);

interface JsonObject {
  kind: string;
  name: string | null;
  key: number | null;
  id: number | null;
  [field: string]: unknown;
}

async function lsJson(): Promise<JsonObject[]> {
  const result = await ipckit('ls', '--json');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout).objects;
}

async function statJson(
  ...targets: string[]
): Promise<(JsonObject & { holders: { pid: number; fds: number[]; mappings: number; mappedBytes: number }[] | null })[]> {
  const result = await ipckit('stat', ...targets, '--json');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout).objects;
}

/** Starts a peer and resolves with it and the words of its "ready ..." line. */
function startPeer(command: string, args: string[]): Promise<{ child: ChildProcess; words: string[] }> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (chunk) => (err += chunk));
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('ready '));
      if (line !== undefined) resolve({ child, words: line.split(' ').slice(1) });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`${command} exited (${code}) before ready: ${out}${err}`)));
  });
}

const leftovers: (() => void)[] = [];
afterEach(() => {
  for (const clean of leftovers.splice(0)) clean();
});
function cleanUp(name: string, keys: number[]) {
  leftovers.push(() => {
    for (const file of [name.slice(1), `sem.${name.slice(1)}`]) fs.rmSync(path.join('/dev/shm', file), { force: true });
    for (const key of keys) for (const flag of ['-M', '-S', '-Q']) spawnSync('ipcrm', [flag, String(key)], { stdio: 'ignore' });
  });
}

describe('objects a C program made', () => {
  test('ls and stat show them and their holder; after the program is killed they remain, and rm removes them (C confirms)', async () => {
    const peer = compileC('introspect_peer.c');
    const name = uniqueName('introspect-c');
    const key = sysvKey();
    cleanUp(name, [key, key + 1]);
    const { child, words } = await startPeer(peer, ['hold', name, String(key)]);
    const [shmFd, shmId, semId, msqId] = words.map(Number);
    try {
      const mine = (await lsJson()).filter((o) => o.name === name || o.key === key || o.key === key + 1);
      const uid = process.getuid!();
      expect(mine).toEqual([
        expect.objectContaining({ kind: 'posix-shm', name, mode: 0o640, size: 8192, uid, path: `/dev/shm${name}` }),
        expect.objectContaining({ kind: 'posix-sem', name, mode: 0o600, uid }),
        expect.objectContaining({
          kind: 'sysv-shm',
          key,
          id: shmId,
          mode: 0o644,
          size: 4096,
          attachCount: 1,
          creatorPid: child.pid,
          lastPid: child.pid,
          cuid: uid,
        }),
        expect.objectContaining({ kind: 'sysv-sem', key, id: semId, mode: 0o600, semaphores: 2 }),
        expect.objectContaining({ kind: 'sysv-mq', key: key + 1, id: msqId, mode: 0o666, messages: 1, size: 100, lastSendPid: child.pid }),
      ]);

      // ipcs, the system's own tool, reports the same System V objects.
      const ipcs = spawnSync('ipcs', ['-m', '-s', '-q'], { encoding: 'utf8' }).stdout;
      const hex = (k: number) => `0x${(k >>> 0).toString(16).padStart(8, '0')}`;
      expect(ipcs).toMatch(new RegExp(`^${hex(key)} +${shmId} +root +644 +4096 +1 *$`, 'm'));
      expect(ipcs).toMatch(new RegExp(`^${hex(key)} +${semId} +root +600 +2 *$`, 'm'));
      expect(ipcs).toMatch(new RegExp(`^${hex(key + 1)} +${msqId} +root +666 +100 +1 *$`, 'm'));

      // The human table flags the world-writable queue.
      const table = await ipckit('ls', '--kind', 'sysv-mq');
      expect(table.stdout.split('\n').find((l) => l.includes(hex(key + 1)))).toMatch(/world-writable$/);

      // stat names C as the holder: its descriptor and mapping of the POSIX object (sem_open
      // keeps a mapping only), and its attachment of the segment, found by id in its maps.
      const [shm, sem] = await statJson(name);
      expect(shm.holders).toContainEqual(
        expect.objectContaining({ pid: child.pid, command: 'introspect_peer', fds: [shmFd], mappings: 1, mappedBytes: 8192 }),
      );
      expect(sem.holders).toContainEqual(expect.objectContaining({ pid: child.pid, fds: [], mappings: 1 }));
      expect(sem.value).toBe(3);
      const [segment, set] = await statJson(String(key));
      expect(segment.holders).toEqual([expect.objectContaining({ pid: child.pid, fds: [], mappings: 1, mappedBytes: 4096 })]);
      expect(set.semaphoreValues).toEqual([
        { value: 5, lastPid: child.pid, waiting: 0, waitingForZero: 0 },
        { value: 0, lastPid: 0, waiting: 0, waitingForZero: 0 },
      ]);

      // The program crashes: its objects stay behind, held by nobody.
      expect(await kill(child)).toBe('SIGKILL');
      const after = (await lsJson()).filter((o) => o.name === name || o.key === key || o.key === key + 1);
      expect(after.map((o) => o.kind)).toEqual(['posix-shm', 'posix-sem', 'sysv-shm', 'sysv-sem', 'sysv-mq']);
      expect(after[2]).toMatchObject({ attachCount: 0, lastPid: child.pid });
      const [stale] = await statJson(name);
      expect(stale.holders!.map((h) => h.pid)).not.toContain(child.pid);

      const removed = await ipckit('rm', name, String(key), `0x${(key + 1).toString(16)}`, '--yes');
      expect(removed.stderr).toBe('');
      expect(removed.code).toBe(0);
      expect(removed.stdout.trim().split('\n')).toEqual([
        `removed POSIX shared memory ${name}`,
        `removed POSIX semaphore ${name}`,
        `removed System V shared memory key ${hex(key)} id ${shmId}`,
        `removed System V semaphore set key ${hex(key)} id ${semId}`,
        `removed System V message queue key ${hex(key + 1)} id ${msqId}`,
      ]);
      const gone = await run(peer, ['gone', name, String(key)], LIMIT);
      expect(gone.stdout).toBe('gone\n');
      expect(gone.code).toBe(0);
    } finally {
      await kill(child);
    }
  });
});

describe('objects Python made', () => {
  test('multiprocessing.shared_memory and sysv_ipc objects are listed with Python as holder and creator; rm removes them (Python confirms)', async () => {
    const name = uniqueName('introspect-py');
    const key = sysvKey();
    cleanUp(name, [key]);
    const { child, words } = await startPeer(SYSV_PYTHON, [path.join(pythonDir, 'introspect_peer.py'), 'hold', name, String(key)]);
    const [pid, shmId, semId] = words.map(Number);
    try {
      expect(pid).toBe(child.pid);
      const mine = (await lsJson()).filter((o) => o.name === name || o.key === key);
      expect(mine).toEqual([
        expect.objectContaining({ kind: 'posix-shm', name, size: 4096, mode: 0o600 }),
        expect.objectContaining({ kind: 'sysv-shm', key, id: shmId, size: 8192, attachCount: 1, creatorPid: pid, mode: 0o600 }),
        expect.objectContaining({ kind: 'sysv-sem', key, id: semId, semaphores: 1 }),
      ]);
      const [shm] = await statJson(name);
      // Python keeps the descriptor open beside its mapping, and its mmap module a duplicate of it.
      expect(shm.holders).toContainEqual(
        expect.objectContaining({ pid, fds: [expect.any(Number), expect.any(Number)], mappings: 1, mappedBytes: 4096 }),
      );
      const [segment, set] = await statJson(String(key));
      expect(segment.holders).toEqual([expect.objectContaining({ pid, mappings: 1, mappedBytes: 8192 })]);
      expect(set.semaphoreValues).toEqual([expect.objectContaining({ value: 2 })]);

      child.stdin!.end('\n');
      await new Promise((resolve) => child.once('exit', resolve));
      const removed = await ipckit('rm', name, String(key), '--yes');
      expect(removed.stderr).toBe('');
      expect(removed.code).toBe(0);
      expect(removed.stdout.trim().split('\n')).toHaveLength(3);
      const gone = await run(SYSV_PYTHON, [path.join(pythonDir, 'introspect_peer.py'), 'gone', name, String(key)], LIMIT);
      expect(gone.stdout).toBe('gone\n');
      expect(gone.code).toBe(0);
    } finally {
      await kill(child);
    }
  });
});

// Descriptor passing between unrelated processes and languages: anonymous shared memory (memfd)
// sent over a Unix socket from Node to Node, from Node to C and from C to Node, with the
// receiver naming its peer (SO_PEERCRED); seals that stop a peer from shrinking the object
// under a mapping, and what happens without them.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SharedMemory, UnixServer, UnixSocket, receiveFds, sendFds } from '../../lib';
import { compileC, fixtures, pattern, run, runNode, scratchDir, type RunResult } from '../helpers';

const LIMIT = { timeout: 60000 };

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

const socketPath = () => path.join(fs.mkdtempSync(path.join(scratchDir(), 'fdpass-')), 'sock');

test('Node to Node: a sealed memfd goes over a socketpair; the child maps it, checks and writes it; the parent sees the writes', async () => {
  const [mine, theirs] = UnixSocket.pair();
  using shm = SharedMemory.createAnonymous({ size: 100000, seal: true });
  pattern(100000, 41).copy(shm.buffer);
  const child = runWith(process.execPath, [path.join(fixtures, 'fdpass-peer.js'), 'recv', '100000', '41'], [theirs.fd]);
  theirs.close(); // the child has its own copy of the descriptor
  await sendFds(mine, [shm.fd], 'frame');
  const reply = await receiveFds(mine, { timeout: 30000 });
  expect(reply).toEqual({ data: Buffer.from('done'), fds: [] });
  const result = await child;
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({ data: 'frame', fds: 1, matches: true, seals: ['shrink', 'grow', 'seal'], peerPid: process.pid });
  expect(shm.buffer.equals(pattern(100000, 42))).toBe(true);
  expect(await mine.receive({ timeout: 30000 })).toBeNull(); // the child closed its end
  mine.close();
});

test('Node to C: C receives the descriptor with recvmsg, finds the pattern, writes, and cannot shrink the sealed object', async () => {
  const where = socketPath();
  using server = UnixServer.listen(where);
  using shm = SharedMemory.createAnonymous({ size: 65536, seal: ['shrink', 'grow'] });
  pattern(65536, 51).copy(shm.buffer);
  const peer = run(compileC('fdpass_peer.c'), ['recv', where, '65536', '51'], LIMIT);
  using connection = await server.accept({ timeout: 30000 });
  await sendFds(connection, [shm.fd]);
  expect(await connection.receive({ timeout: 30000 })).toEqual({ data: Buffer.from('k'), fds: [] });
  const result = await peer;
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const [, pid, shrink] = /^checked (\d+) shrink=(\S+)\n$/.exec(result.stdout)!;
  expect(shrink).toBe('EPERM');
  expect(Number(pid)).toBe(connection.peerCredentials.pid);
  expect(connection.peerCredentials).toMatchObject({ uid: process.getuid!(), gid: process.getgid!() });
  expect(shm.size).toBe(65536);
  expect(fs.fstatSync(shm.fd).size).toBe(65536);
  expect(shm.buffer.equals(pattern(65536, 52))).toBe(true);
});

test('Node to C, unsealed (the control): the same C peer shrinks the object', async () => {
  const where = socketPath();
  using server = UnixServer.listen(where);
  const shm = SharedMemory.createAnonymous({ size: 8192 });
  pattern(8192, 53).copy(shm.buffer);
  const peer = run(compileC('fdpass_peer.c'), ['recv', where, '8192', '53'], LIMIT);
  using connection = await server.accept({ timeout: 30000 });
  await sendFds(connection, [shm.fd]);
  await connection.receive({ timeout: 30000 });
  const result = await peer;
  expect(result.stdout).toMatch(/shrink=OK\n$/);
  expect(fs.fstatSync(shm.fd).size).toBe(4096);
  shm.close(); // not touching the lost page: that would be SIGBUS (see the next test)
});

test('C to Node: a memfd C made and sealed is mapped by Node at its size, with its seals', async () => {
  const where = socketPath();
  using server = UnixServer.listen(where);
  const peer = run(compileC('fdpass_peer.c'), ['send', where, '30000', '61'], LIMIT);
  const connection = await server.accept({ timeout: 30000 });
  const message = (await receiveFds(connection, { timeout: 30000 }))!;
  expect(message.data.toString()).toBe('m');
  expect(message.fds).toHaveLength(1);
  using shm = SharedMemory.fromFd(message.fds[0]);
  fs.closeSync(message.fds[0]);
  expect(shm.size).toBe(30000);
  expect(shm.buffer.equals(pattern(30000, 61))).toBe(true);
  expect(shm.seals).toEqual(['shrink', 'grow']);
  expect(() => fs.ftruncateSync(shm.fd, 100)).toThrow(expect.objectContaining({ code: 'EPERM' }));
  const pid = connection.peerCredentials.pid;
  connection.close(); // the C peer's read ends; it exits
  const result = await peer;
  expect(result.stdout).toBe(`sent ${pid}\n`);
  // The object outlives its creator: the bytes are still here.
  expect(shm.buffer[29999]).toBe(pattern(30000, 61)[29999]);
});

test('why seals matter: shrinking an unsealed object under a mapping makes the next touch SIGBUS; sealed, the shrink fails', async () => {
  const unsealed = await runNode('fdpass-peer.js', ['truncate', 'unsealed'], LIMIT);
  expect(unsealed.stdout).toBe('truncate ok\n');
  expect(unsealed.signal).toBe('SIGBUS');
  const sealed = await runNode('fdpass-peer.js', ['truncate', 'sealed'], LIMIT);
  expect(sealed).toMatchObject({ code: 0, stderr: '', stdout: 'truncate EPERM\nread 0\n' });
});

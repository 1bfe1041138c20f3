// FIFOs across processes and languages: Node to Node both ways, C (blocking open/read/write) and
// Python (os.open/os.read/os.write) both ways, every byte checked against the shared pattern; and
// whether a pending wait for a reader keeps its process alive (ref) or not (ref: false).
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';
import { Fifo, mkfifo } from '../../lib';
import { compileC, pattern, python, pythonDir, run, runNode, scratchDir, startNode, type RunResult } from '../helpers';

// A peer that misses its other end would wait for ever: every peer is killed after 30 s.
const LIMIT = { timeout: 30000 };
const SIZE = 4 * 1024 * 1024 + 17;
const peerPy = path.join(pythonDir, 'fifo_peer.py');

let counter = 0;
const made: string[] = [];
function newFifo(): string {
  counter += 1;
  const p = path.join(scratchDir(), `interop-${counter}`);
  mkfifo(p);
  made.push(p);
  return p;
}
afterEach(() => {
  for (const p of made.splice(0)) fs.rmSync(p, { force: true });
});

function readAll(reader: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    reader.on('data', (chunk: Buffer) => chunks.push(chunk));
    reader.on('end', () => resolve(Buffer.concat(chunks)));
    reader.on('error', reject);
  });
}

/** Writes `data` with backpressure and ends the stream. */
async function writeAll(writer: net.Socket, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length; offset += 65536) {
    if (!writer.write(data.subarray(offset, offset + 65536))) await new Promise((resolve) => writer.once('drain', resolve));
  }
  await new Promise<void>((resolve, reject) => {
    writer.once('error', reject);
    writer.end(resolve);
  });
}

function expectOk(result: RunResult, line: string) {
  expect(result.stderr).toBe('');
  expect(result.stdout).toBe(`${line}\n`);
  expect(result.code).toBe(0);
}

/** A reader here, a writing peer there: the bytes must be the pattern, all of them. */
async function readFromPeer(peer: (p: string) => Promise<RunResult>, size: number, seed: number): Promise<void> {
  const p = newFifo();
  const reader = Fifo.openReader(p);
  const [data, result] = await Promise.all([readAll(reader), peer(p)]);
  expectOk(result, `wrote ${size}`);
  expect(data.length).toBe(size);
  expect(data.equals(pattern(size, seed))).toBe(true);
}

/** A writer here (waiting for the peer to open the FIFO), a reading peer there. */
async function writeToPeer(peer: (p: string) => Promise<RunResult>, size: number, seed: number): Promise<void> {
  const p = newFifo();
  const result = peer(p);
  const writer = await Fifo.openWriter(p, { wait: true, timeout: 30000 });
  await writeAll(writer, pattern(size, seed));
  expectOk(await result, `read ${size} ok`);
}

describe('Node to Node', () => {
  test('a child writes (after waiting for this reader), this process reads every byte', async () => {
    await readFromPeer((p) => runNode('fifo-peer.js', ['write', p, String(SIZE), '3'], LIMIT), SIZE, 3);
  });

  test('this process writes (after waiting for the child to read), the child reads every byte', async () => {
    const p = newFifo();
    const result = runNode('fifo-peer.js', ['read', p, String(SIZE), '4'], LIMIT);
    const writer = await Fifo.openWriter(p, { wait: true, timeout: 30000 });
    await writeAll(writer, pattern(SIZE, 4));
    const { stdout, stderr, code } = await result;
    expect(stderr).toBe('');
    expect(stdout).toBe(`ready\nread ${SIZE} ok\n`);
    expect(code).toBe(0);
  });

  test('a referenced wait for a reader keeps the child alive until a reader comes', async () => {
    const p = newFifo();
    const child = await startNode('fifo-peer.js', ['wait-ref', p], 'waiting');
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    // The child has nothing else to do: only its wait can hold it until this reader opens.
    const reader = Fifo.openReader(p);
    expect((await readAll(reader)).toString()).toBe('hello from the waiter');
    expect(await exited).toBe(0);
    expect(stdout).toBe('wrote\n');
  });

  test('an unreferenced wait for a reader lets the child exit', async () => {
    const p = newFifo();
    const result = await runNode('fifo-peer.js', ['wait-unref', p], LIMIT);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('waiting\n');
    expect(result.code).toBe(0);
    expect(result.signal).toBeNull();
  });
});

describe('C', () => {
  test('C writes with blocking write(2), Node reads every byte', async () => {
    const peer = compileC('fifo_peer.c');
    await readFromPeer((p) => run(peer, ['write', p, String(SIZE), '5'], LIMIT), SIZE, 5);
  });

  test('Node writes, C reads with blocking read(2) and checks every byte', async () => {
    const peer = compileC('fifo_peer.c');
    await writeToPeer((p) => run(peer, ['read', p, String(SIZE), '6'], LIMIT), SIZE, 6);
  });
});

describe('Python', () => {
  const PY_SIZE = 1024 * 1024 + 3;

  test('Python writes with os.write, Node reads every byte', async () => {
    await readFromPeer((p) => run(python, [peerPy, 'write', p, String(PY_SIZE), '7'], LIMIT), PY_SIZE, 7);
  });

  test('Node writes, Python reads with os.read and checks every byte', async () => {
    await writeToPeer((p) => run(python, [peerPy, 'read', p, String(PY_SIZE), '8'], LIMIT), PY_SIZE, 8);
  });
});

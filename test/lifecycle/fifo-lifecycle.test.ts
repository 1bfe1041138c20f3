// FIFO descriptors and waits over many cycles and at teardown: 200 open/write/close cycles of
// readers (plain and keepOpen) and writers (at once and after a wait) leave no descriptor behind,
// nor do 200 waits for a reader that time out or are aborted; a worker thread terminated with a
// wait for a reader pending exits cleanly, and its process goes on.
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ErrorCodes, Fifo, mkfifo } from '../../lib';
import { eventually, openFdCount, scratchDir } from '../helpers';

let counter = 0;
function newFifo(): string {
  counter += 1;
  const p = path.join(scratchDir(), `lifecycle-${counter}`);
  mkfifo(p);
  return p;
}

function closed(stream: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (stream.closed) resolve();
    else stream.once('close', () => resolve());
  });
}

/** One cycle: a reader (keepOpen on even cycles), a writer (waiting on every other pair), 5 bytes. */
async function cycle(p: string, i: number): Promise<number> {
  const reader = Fifo.openReader(p, { keepOpen: i % 2 === 0 });
  const writer = i % 4 < 2 ? await Fifo.openWriter(p) : await Fifo.openWriter(p, { wait: true, timeout: 30000 });
  const got = new Promise<number>((resolve) => {
    let n = 0;
    reader.on('data', (chunk: Buffer) => {
      n += chunk.length;
      // keepOpen readers never end by themselves: destroy once the bytes are in.
      if (n === 5 && i % 2 === 0) reader.destroy();
    });
    reader.on('close', () => resolve(n));
  });
  writer.end('hello');
  const n = await got;
  await closed(writer);
  return n;
}

test('200 open/write/close cycles leave no descriptor behind', async () => {
  const p = newFifo();
  // A warm-up of each kind first: Node opens a few descriptors of its own once, on first use.
  for (let i = 0; i < 4; i++) await cycle(p, i);
  const before = openFdCount();
  let bytes = 0;
  for (let i = 0; i < 200; i++) bytes += await cycle(p, i);
  expect(bytes).toBe(200 * 5);
  await eventually('every descriptor is closed', () => openFdCount() === before);
  fs.unlinkSync(p);
}, 120000);

test('200 waits for a reader that time out or are aborted leave no descriptor behind', async () => {
  const p = newFifo();
  const before = openFdCount();
  const codes = new Map<string, number>();
  for (let i = 0; i < 200; i++) {
    let wait: Promise<unknown>;
    if (i % 2 === 0) {
      wait = Fifo.openWriter(p, { wait: true, timeout: 1 });
    } else {
      const controller = new AbortController();
      wait = Fifo.openWriter(p, { wait: true, signal: controller.signal });
      setImmediate(() => controller.abort());
    }
    const code = await wait.then(
      () => 'opened',
      (error: NodeJS.ErrnoException) => error.code ?? 'none',
    );
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  expect(Object.fromEntries(codes)).toEqual({ [ErrorCodes.TIMEOUT]: 100, [ErrorCodes.ABORTED]: 100 });
  await eventually('every descriptor is closed', () => openFdCount() === before);
  fs.unlinkSync(p);
}, 120000);

test('a worker terminated while it waits for a reader (and reads a FIFO) exits cleanly', async () => {
  const waited = newFifo();
  const read = newFifo();
  const before = openFdCount();
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { Fifo } = require(workerData.root);
     Fifo.openWriter(workerData.waited, { wait: true }).catch(() => {});
     Fifo.openReader(workerData.read).on('data', () => {});
     parentPort.postMessage('ready');`,
    { eval: true, workerData: { root: path.join(__dirname, '..', '..', 'dist'), waited, read } },
  );
  await new Promise((resolve) => worker.once('message', resolve));
  expect(await worker.terminate()).toBe(1);
  // The worker's reader and the waiter thread's open are gone with it: nobody has the FIFOs.
  await eventually('the worker released its descriptors', () => openFdCount() === before);
  await expect(Fifo.openWriter(read)).rejects.toMatchObject({ code: ErrorCodes.NO_READER });
  fs.unlinkSync(waited);
  fs.unlinkSync(read);
});

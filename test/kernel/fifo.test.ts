// FIFOs against the kernel, in one process: mkfifo's exact mode and errors, refusing what is not
// a FIFO, the writer's wait for a reader (no reader, timeout, abort, a reader arriving, the FIFO
// unlinked under the wait), end of stream, keepOpen, a 64 MiB transfer under backpressure, and
// EPIPE as an error event when the reader goes away.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';
import { ErrorCodes, Fifo, mkfifo } from '../../lib';
import { callsOf, eventually, pattern, scratchDir, thrown } from '../helpers';

let counter = 0;
const made: string[] = [];
/** A path in this file's scratch folder, removed after the test. */
function fifoPath(): string {
  counter += 1;
  const p = path.join(scratchDir(), `fifo-${counter}`);
  made.push(p);
  return p;
}
function newFifo(mode?: number): string {
  const p = fifoPath();
  mkfifo(p, mode === undefined ? {} : { mode });
  return p;
}

const streams: net.Socket[] = [];
function track<T extends net.Socket>(socket: T): T {
  streams.push(socket);
  return socket;
}
afterEach(() => {
  for (const s of streams.splice(0)) s.destroy();
  for (const p of made.splice(0)) fs.rmSync(p, { force: true, recursive: true });
});

/** Collects a readable until 'end'. */
function readAll(reader: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    reader.on('data', (chunk: Buffer) => chunks.push(chunk));
    reader.on('end', () => resolve(Buffer.concat(chunks)));
    reader.on('error', reject);
  });
}

function closed(stream: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (stream.closed) resolve();
    else stream.once('close', () => resolve());
  });
}

type Rejected = Omit<NodeJS.ErrnoException, 'cause'> & { cause?: NodeJS.ErrnoException };
async function rejection(promise: Promise<unknown>): Promise<Rejected> {
  try {
    await promise;
  } catch (error) {
    return error as Rejected;
  }
  throw new Error('expected the promise to reject');
}

/** openat(2) on x86_64, as /proc/PID/task/TID/syscall reports it. */
const SYS_OPENAT = 257;
const threadsInOpen = () => callsOf(process.pid).filter((call) => call.nr === SYS_OPENAT).length;

/** A few turns of the event loop, for an end of stream that would come at once if it were wrong. */
const turns = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('mkfifo', () => {
  test('applies the mode exactly, whatever the umask', () => {
    const old = process.umask(0o077);
    try {
      for (const mode of [0o666, 0o640, 0o600, 0o000, 0o1777]) {
        const p = newFifo(mode);
        const st = fs.statSync(p);
        expect(st.isFIFO()).toBe(true);
        expect(st.mode & 0o7777).toBe(mode);
      }
      // The default is 0o600.
      expect(fs.statSync(newFifo()).mode & 0o7777).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });

  test('fails with EEXIST (path set) on an existing name, and ENOENT in a missing folder', () => {
    const p = newFifo();
    const error = thrown(() => mkfifo(p));
    expect(error.code).toBe('EEXIST');
    expect(error.syscall).toBe('mkfifo');
    expect(error.path).toBe(p);
    expect(error.errno).toBe(-osConstants.errno.EEXIST);
    expect(error.message).toBe(`EEXIST: file already exists, mkfifo '${p}'`);
    const file = fifoPath();
    fs.writeFileSync(file, 'x');
    expect(thrown(() => mkfifo(file)).code).toBe('EEXIST');
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
    const missing = path.join(scratchDir(), 'no-such-folder', 'f');
    expect(thrown(() => mkfifo(missing)).code).toBe('ENOENT');
  });

  test('bad arguments throw before anything is made', () => {
    const p = fifoPath();
    expect(thrown(() => mkfifo(42 as unknown as string)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => mkfifo('')).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => mkfifo(`${p}\u0000x`)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => mkfifo(p, null as unknown as object)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => mkfifo(p, { mode: '600' as unknown as number })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => mkfifo(p, { mode: 0o10000 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => mkfifo(p, { mode: -1 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => mkfifo(p, { mode: 1.5 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(fs.existsSync(p)).toBe(false);
  });
});

describe('what is not a FIFO', () => {
  test('a regular file, a directory and a socket are refused with ERR_IPC_INVALID_OBJECT, without blocking', async () => {
    const file = fifoPath();
    fs.writeFileSync(file, 'data');
    const dir = fifoPath();
    fs.mkdirSync(dir);
    const socketPath = fifoPath();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    for (const [p, kind] of [
      [file, 'a regular file'],
      [dir, 'a directory'],
      [socketPath, 'a socket'],
    ]) {
      const error = thrown(() => Fifo.openReader(p));
      expect(error.code).toBe(ErrorCodes.INVALID_OBJECT);
      expect(error.message).toBe(`'${p}' is not a FIFO: it is ${kind}`);
      expect((await rejection(Fifo.openWriter(p))).code).toBe(ErrorCodes.INVALID_OBJECT);
      expect((await rejection(Fifo.openWriter(p, { wait: true }))).code).toBe(ErrorCodes.INVALID_OBJECT);
    }
    await new Promise((resolve) => server.close(resolve));
    expect(fs.readFileSync(file, 'utf8')).toBe('data');
  });

  test('a missing path is ENOENT, for the reader and for a waiting writer', async () => {
    const p = fifoPath();
    const error = thrown(() => Fifo.openReader(p));
    expect(error.code).toBe('ENOENT');
    expect(error.syscall).toBe('open');
    expect(error.path).toBe(p);
    const rejected = await rejection(Fifo.openWriter(p, { wait: true }));
    expect(rejected.code).toBe('ENOENT');
    expect(rejected.path).toBe(p);
  });

  test('bad options throw at once', () => {
    const p = newFifo();
    expect(thrown(() => Fifo.openReader(p, { keepOpen: 1 as unknown as boolean })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => Fifo.openReader(p, { highWaterMark: 0 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => Fifo.openWriter(p, { wait: 'yes' as unknown as boolean })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => Fifo.openWriter(p, { timeout: -1 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => Fifo.openWriter(p, { signal: {} as AbortSignal })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => Fifo.openWriter(p, { ref: null as unknown as boolean })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => Fifo.openWriter(undefined as unknown as string)).code).toBe('ERR_INVALID_ARG_TYPE');
  });
});

describe('the writer and its reader', () => {
  test('without a reader, openWriter rejects at once with ERR_IPC_NO_READER carrying ENXIO', async () => {
    const p = newFifo();
    const error = await rejection(Fifo.openWriter(p));
    expect(error.code).toBe(ErrorCodes.NO_READER);
    expect(error.errno).toBe(-osConstants.errno.ENXIO);
    expect(error.syscall).toBe('open');
    expect(error.path).toBe(p);
    expect(error.cause?.code).toBe('ENXIO');
  });

  test('a wait for a reader times out, is aborted (also before it starts), and timeout 0 does not wait', async () => {
    const p = newFifo();
    expect((await rejection(Fifo.openWriter(p, { wait: true, timeout: 30 }))).code).toBe(ErrorCodes.TIMEOUT);
    expect((await rejection(Fifo.openWriter(p, { wait: true, timeout: 0 }))).code).toBe(ErrorCodes.TIMEOUT);
    const controller = new AbortController();
    const aborted = Fifo.openWriter(p, { wait: true, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect((await rejection(aborted)).code).toBe(ErrorCodes.ABORTED);
    expect((await rejection(Fifo.openWriter(p, { wait: true, signal: AbortSignal.abort() }))).code).toBe(ErrorCodes.ABORTED);
    // Nothing was left waiting: a reader now sees no writer ever arrive, and a writer that does
    // not wait still finds the FIFO without a reader.
    expect((await rejection(Fifo.openWriter(p))).code).toBe(ErrorCodes.NO_READER);
  });

  test('a waiting writer resolves once a reader opens, and the bytes arrive', async () => {
    const p = newFifo();
    const pending = Fifo.openWriter(p, { wait: true, timeout: 60000 });
    let resolved = false;
    void pending.then(() => (resolved = true));
    await turns();
    expect(resolved).toBe(false);
    const reader = track(Fifo.openReader(p));
    const writer = track(await pending);
    const all = readAll(reader);
    writer.end('after the wait');
    expect((await all).toString()).toBe('after the wait');
  });

  test('several writers wait for one reader and all get in', async () => {
    const p = newFifo();
    const pending = [1, 2, 3].map(() => Fifo.openWriter(p, { wait: true }));
    await turns();
    const reader = track(Fifo.openReader(p));
    const writers = (await Promise.all(pending)).map(track);
    const all = readAll(reader);
    writers.forEach((w, i) => w.end(`w${i};`));
    expect((await all).toString().split(';').filter(Boolean).sort()).toEqual(['w0', 'w1', 'w2']);
  });

  test('a writer waiting on a FIFO that is unlinked keeps waiting until its timeout (as open(2) would)', async () => {
    const p = newFifo();
    const pending = Fifo.openWriter(p, { wait: true, timeout: 200 });
    await turns();
    fs.unlinkSync(p);
    expect((await rejection(pending)).code).toBe(ErrorCodes.TIMEOUT);
  });

  test('a reader opened before any writer waits for one instead of ending; it ends when the last writer closes', async () => {
    const p = newFifo();
    const reader = track(Fifo.openReader(p));
    let ended = false;
    reader.on('end', () => (ended = true));
    const all = readAll(reader);
    await turns();
    expect(ended).toBe(false);
    const first = await Fifo.openWriter(p);
    const second = await Fifo.openWriter(p);
    first.end('one,');
    await closed(first);
    await turns();
    // One writer is still there.
    expect(ended).toBe(false);
    second.end('two');
    expect((await all).toString()).toBe('one,two');
    await closed(reader);
  });

  test('keepOpen: the reader outlives its writers and reads each of them', async () => {
    const p = newFifo();
    const reader = track(Fifo.openReader(p, { keepOpen: true }));
    let received = '';
    let ended = false;
    reader.on('data', (chunk: Buffer) => (received += chunk.toString()));
    reader.on('end', () => (ended = true));
    for (const word of ['alpha', 'beta', 'gamma']) {
      // The reader holds a write end itself, so a writer that does not wait opens at once.
      const writer = await Fifo.openWriter(p);
      writer.end(word);
      await closed(writer);
      await eventually(`the reader has ${word}`, () => received.endsWith(word));
    }
    await turns();
    expect(received).toBe('alphabetagamma');
    expect(ended).toBe(false);
    reader.destroy();
    await closed(reader);
    // Its hidden write end is gone too: no reader, no writer left.
    expect((await rejection(Fifo.openWriter(p))).code).toBe(ErrorCodes.NO_READER);
  });

  test('64 MiB cross the FIFO intact, with backpressure on the writer', async () => {
    const TOTAL = 64 * 1024 * 1024;
    const CHUNK = 256 * 1024;
    const p = newFifo();
    const reader = track(Fifo.openReader(p));
    const writer = track(await Fifo.openWriter(p));
    const readHash = createHash('sha256');
    let readBytes = 0;
    const done = new Promise<void>((resolve, reject) => {
      reader.on('data', (chunk: Buffer) => {
        readHash.update(chunk);
        readBytes += chunk.length;
      });
      reader.on('end', resolve);
      reader.on('error', reject);
    });
    const writeHash = createHash('sha256');
    let refused = 0;
    for (let offset = 0, seed = 0; offset < TOTAL; offset += CHUNK, seed++) {
      const chunk = pattern(CHUNK, seed);
      writeHash.update(chunk);
      if (!writer.write(chunk)) {
        refused++;
        await new Promise((resolve) => writer.once('drain', resolve));
      }
    }
    writer.end();
    await done;
    expect(readBytes).toBe(TOTAL);
    expect(readHash.digest('hex')).toBe(writeHash.digest('hex'));
    // The pipe (64 KiB) is far smaller than a chunk: the writer was held back again and again.
    expect(refused).toBeGreaterThan(10);
  }, 120000);

  test('a reader that goes away makes the next write an EPIPE error event, and the process lives on', async () => {
    const p = newFifo();
    const reader = Fifo.openReader(p);
    const writer = track(await Fifo.openWriter(p));
    reader.destroy();
    await closed(reader);
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      writer.on('error', resolve);
      writer.write('nobody reads this');
    });
    expect(error.code).toBe('EPIPE');
    expect(error.syscall).toBe('write');
    await closed(writer);
  });

  test('a reader that opens and closes between the writer opening and writing gives EPIPE too', async () => {
    const p = newFifo();
    const before = threadsInOpen();
    const pending = Fifo.openWriter(p, { wait: true, timeout: 30000 });
    // Once the waiter thread sleeps in open(), a reader that opens and closes again wakes it: the
    // open succeeds, and the reader is gone before anything is written.
    await eventually('a waiter thread sleeps in openat()', () => threadsInOpen() > before);
    fs.closeSync(fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
    const writer = track(await pending);
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      writer.on('error', resolve);
      writer.write('too late');
    });
    expect(error.code).toBe('EPIPE');
  });

  test('descriptors are close-on-exec', async () => {
    const p = newFifo();
    const reader = track(Fifo.openReader(p, { keepOpen: true }));
    const writer = track(await Fifo.openWriter(p));
    const fds = fs.readdirSync('/proc/self/fd').map(Number);
    const ours = fds.filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`) === p;
      } catch {
        return false;
      }
    });
    // The reader, its hidden write end and the writer.
    expect(ours.length).toBe(3);
    for (const fd of ours) {
      const flags = /^flags:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1];
      expect(parseInt(flags, 8) & 0o2000000).toBe(0o2000000); // O_CLOEXEC
    }
    expect(reader.readable).toBe(true);
    expect(writer.writable).toBe(true);
  });
});

// EventFd against the kernel: counting and semaphore reads, waits on the event loop with
// timeout, abort and close, call order, a full counter, fromFd, and use after close.
import * as fs from 'node:fs';
import { ErrorCodes, EventFd } from '../../lib';
import { openFdCount, thrown } from '../helpers';

const opened: EventFd[] = [];
const make = (options?: Parameters<typeof EventFd.create>[0]) => {
  const bell = EventFd.create(options);
  opened.push(bell);
  return bell;
};
afterEach(() => opened.splice(0).forEach((bell) => bell.close()));

test('the counter adds up; a read takes all of it', async () => {
  const bell = make({ initial: 2 });
  expect(bell.signal(3)).toBe(true);
  expect(bell.signal(4n)).toBe(true);
  expect(bell.tryRead()).toBe(9);
  expect(bell.tryRead()).toBeNull();
  bell.signal();
  expect(await bell.read()).toBe(1);
  expect(fs.readlinkSync(`/proc/self/fd/${bell.fd}`)).toBe('anon_inode:[eventfd]');
  expect(bell.semaphore).toBe(false);
});

test('semaphore mode: each read takes 1', async () => {
  const bell = make({ semaphore: true, initial: 3 });
  expect(bell.semaphore).toBe(true);
  expect(await bell.read()).toBe(1);
  expect(bell.tryRead()).toBe(1);
  expect(bell.tryRead()).toBe(1);
  expect(bell.tryRead()).toBeNull();
});

test('a read waits for a later signal; pending reads settle in call order', async () => {
  const bell = make({ semaphore: true });
  const order: number[] = [];
  const reads = [0, 1, 2].map((i) => bell.read().then((value) => order.push(i) && value));
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(order).toEqual([]);
  // While reads are pending, tryRead does not jump the queue.
  bell.signal(1);
  expect(bell.tryRead()).toBeNull();
  bell.signal(2);
  await Promise.all(reads);
  expect(order).toEqual([0, 1, 2]);
});

test('timeout, abort and close settle a pending read with their codes, having taken nothing', async () => {
  const bell = make();
  await expect(bell.read({ timeout: 10 })).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
  await expect(bell.read({ timeout: 0 })).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
  const controller = new AbortController();
  const aborted = bell.read({ signal: controller.signal });
  controller.abort();
  await expect(aborted).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
  const pre = new AbortController();
  pre.abort();
  await expect(bell.read({ signal: pre.signal })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
  bell.signal(5);
  expect(bell.tryRead()).toBe(5); // none of the stopped reads took anything
  const closing = bell.read();
  bell.close();
  await expect(closing).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
});

test('a full counter: signal() returns false without blocking, signalAsync() waits for room', async () => {
  const bell = make();
  expect(bell.signal(2n ** 64n - 2n)).toBe(true);
  expect(bell.signal(1)).toBe(false);
  const write = bell.signalAsync(7);
  let written = false;
  void write.then(() => (written = true));
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(written).toBe(false);
  expect(await bell.read({ bigint: true })).toBe(2n ** 64n - 2n);
  await write;
  expect(bell.tryRead()).toBe(7);
  await expect(bell.signalAsync(1, { timeout: 0 })).resolves.toBeUndefined();
  bell.signal(2n ** 64n - 3n);
  await expect(bell.signalAsync(5, { timeout: 10 })).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
});

test('bad arguments are refused before any syscall', () => {
  const bell = make();
  for (const value of [0, -1, 1.5, 2n ** 64n - 1n, 0n, Number.MAX_SAFE_INTEGER + 1]) {
    expect(thrown(() => bell.signal(value)).code).toBe('ERR_OUT_OF_RANGE');
  }
  expect(thrown(() => bell.signal('1' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
  expect(thrown(() => EventFd.create({ initial: -1 })).code).toBe('ERR_OUT_OF_RANGE');
  expect(thrown(() => EventFd.create({ initial: 2 ** 32 })).code).toBe('ERR_OUT_OF_RANGE');
  expect(thrown(() => EventFd.create({ semaphore: 'yes' as never })).code).toBe('ERR_INVALID_ARG_TYPE');
  expect(thrown(() => EventFd.create(null as never)).code).toBe('ERR_INVALID_ARG_TYPE');
  expect(thrown(() => EventFd.fromFd(-1)).code).toBe('ERR_OUT_OF_RANGE');
  expect(bell.tryRead()).toBeNull();
});

test('fromFd wraps a duplicate of an eventfd and refuses anything else', () => {
  const bell = make();
  const other = EventFd.fromFd(bell.fd);
  opened.push(other);
  expect(other.fd).not.toBe(bell.fd);
  other.signal(11);
  expect(bell.tryRead()).toBe(11);
  other.close();
  bell.signal(1); // the original is still open
  expect(bell.tryRead()).toBe(1);
  const file = fs.openSync('/proc/self/status', 'r');
  try {
    expect(thrown(() => EventFd.fromFd(file)).code).toBe(ErrorCodes.INVALID_OBJECT);
  } finally {
    fs.closeSync(file);
  }
  expect(thrown(() => EventFd.fromFd(100000)).code).toBe('EBADF');
});

test('after close every call is ERR_IPC_CLOSED and the descriptor is gone', async () => {
  const bell = EventFd.create();
  const fd = bell.fd;
  bell.close();
  bell.close();
  expect(bell.closed).toBe(true);
  expect(() => fs.fstatSync(fd)).toThrow();
  for (const use of [() => bell.fd, () => bell.signal(), () => bell.tryRead()]) expect(thrown(use).code).toBe(ErrorCodes.CLOSED);
  await expect(bell.read()).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  await expect(bell.signalAsync()).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
});

test('for await reads until the handle closes', async () => {
  const bell = make();
  const seen: number[] = [];
  const done = (async () => {
    for await (const value of bell) {
      seen.push(value);
      if (seen.length === 3) bell.close();
    }
  })();
  for (const n of [1, 2, 3]) {
    bell.signal(n);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await done;
  expect(seen).toEqual([1, 2, 3]);
});

test('200 create / wait / close cycles leave no descriptor behind', async () => {
  const before = openFdCount();
  for (let i = 0; i < 200; i++) {
    const bell = EventFd.create({ semaphore: i % 2 === 0 });
    const read = bell.read();
    bell.signal(1);
    await read;
    const pending = bell.read().catch((e) => e.code);
    bell.close();
    expect(await pending).toBe(ErrorCodes.CLOSED);
  }
  expect(openFdCount()).toBe(before);
});

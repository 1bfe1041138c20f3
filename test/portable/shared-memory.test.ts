// SharedMemory between two processes, with the portable API only: the same file runs under Linux
// (POSIX shm) and under the Windows suite (named paging-file mappings, native/win/shm.cc). Where
// the platforms differ by design (an opened mapping's size in whole pages on Windows, names that
// go with their last handle), the test states what each does.
import { binding } from '../../lib/binding';
import { SharedMemory } from '../../lib';
import { pattern, shmNames, thrown } from '../helpers';
import { runPortable } from './peer';

const newName = shmNames('portable-shm');
const windows = process.platform === 'win32';
const granularity = binding.constants.windowsSharedMemory?.sizeGranularity ?? 1;

test('the platform has shared memory', () => {
  expect(binding.features.sharedMemory).toBe(true);
  expect(windows ? granularity >= 4096 : granularity === 1).toBe(true);
});

test('created here, opened in another process: the bytes go both ways', async () => {
  const name = newName();
  const size = 64 * 1024;
  using shm = SharedMemory.create(name, { size });
  shm.buffer.set(pattern(size, 3));
  const report = await runPortable(['shm-open', name, String(size), '3', '4']);
  expect(report).toEqual({ size, created: false, matched: true, tailZero: true, exit: 0 });
  expect(shm.buffer.equals(pattern(size, 4))).toBe(true);
});

test('sizes: the creator maps what it asked for; an opener gets the OS size (whole pages on Windows)', async () => {
  for (const size of [1, 4095, 5000, 4096 * 3]) {
    const name = newName();
    using shm = SharedMemory.create(name, { size });
    expect(shm.size).toBe(size);
    shm.buffer.set(pattern(size, size & 0xff));
    const opened = windows ? Math.ceil(size / granularity) * granularity : size;
    const report = await runPortable(['shm-open', name, String(size), String(size & 0xff), '9']);
    expect({ size, report }).toEqual({ size, report: { size: opened, created: false, matched: true, tailZero: true, exit: 0 } });
    expect(shm.stat().size).toBe(opened);
    expect(shm.buffer.equals(pattern(size, 9))).toBe(true);
  }
});

test('create of a name another process holds is EEXIST; open of a name nobody holds is ENOENT', async () => {
  const name = newName();
  using shm = SharedMemory.create(name, { size: 4096 });
  expect(await runPortable(['shm-create', name, '4096'])).toMatchObject({ code: 'EEXIST', exit: 0 });
  expect(await runPortable(['shm-try-open', newName()])).toMatchObject({ code: 'ENOENT', exit: 0 });
  expect(thrown(() => SharedMemory.create(name, { size: 4096 })).code).toBe('EEXIST');
  // openOrCreate of a held name opens it, with its own size.
  using again = SharedMemory.openOrCreate(name, { size: 12345 });
  expect(again.created).toBe(false);
  expect(again.size).toBe(4096);
  expect(shm.created).toBe(true);
});

test('a read-only handle in another process reads the bytes, and its writes stay private to it', async () => {
  const name = newName();
  const size = 8192;
  using shm = SharedMemory.create(name, { size });
  shm.buffer.set(pattern(size, 5));
  const report = await runPortable(['shm-readonly', name, String(size), '5']);
  expect(report).toEqual({ readOnly: true, matched: true, ownWrite: true, rest: true, exit: 0 });
  expect(shm.buffer.equals(pattern(size, 5))).toBe(true);
});

test('unlink: clean-up code that closes and then unlinks works on both; on Windows the name goes with the last handle', async () => {
  const name = newName();
  const shm = SharedMemory.create(name, { size: 4096 });
  shm.buffer[0] = 42;
  shm.close();
  // Linux keeps the object until unlink(); Windows has no unlink, and the last handle just closed.
  const reopened = await runPortable(['shm-try-open', name]);
  expect(reopened).toMatchObject(windows ? { code: 'ENOENT' } : { opened: true, size: 4096 });
  expect(() => SharedMemory.unlink(name)).not.toThrow();
  expect(await runPortable(['shm-try-open', name])).toMatchObject({ code: 'ENOENT', exit: 0 });
  // A second unlink: ENOENT on Linux; on Windows unlink only checks the name.
  if (windows) expect(() => SharedMemory.unlink(name)).not.toThrow();
  else expect(thrown(() => SharedMemory.unlink(name)).code).toBe('ENOENT');
});

test('a name with a backslash is refused on Windows (another namespace), and is an ordinary name on Linux', () => {
  const name = `${newName()}\\x`;
  if (windows) {
    expect(thrown(() => SharedMemory.create(name, { size: 1 })).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => SharedMemory.unlink(name)).code).toBe('ERR_INVALID_ARG_VALUE');
  } else {
    SharedMemory.create(name, { size: 1 }).close();
    SharedMemory.unlink(name);
  }
  // Too long for either: Windows' MAX_PATH less `Local\`, Linux's NAME_MAX.
  expect(thrown(() => SharedMemory.open(`/${'n'.repeat(300)}`)).code).toBe('ERR_INVALID_ARG_VALUE');
});

test('a stale Buffer reads as empty after close, in either platform', () => {
  const name = newName();
  const shm = SharedMemory.create(name, { size: 4096 });
  const buffer = shm.buffer;
  shm.close();
  expect(buffer.length).toBe(0);
  expect(thrown(() => shm.buffer).code).toBe('ERR_IPC_CLOSED');
});

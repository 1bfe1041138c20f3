// System V shared memory against the kernel: create/open/openOrCreate/createPrivate/attach, the
// size and mode the kernel records, read-only attachments, stat(), remove() and close().
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { ErrorCodes, Mutex, SysVSharedMemory } from '../../lib';
import { isRoot, pattern, runAsNobody, stagePackage, sysvKey, thrown } from '../helpers';

const made: number[] = [];
function track<T extends SysVSharedMemory>(shm: T): T {
  made.push(shm.id);
  return shm;
}
afterEach(() => {
  for (const id of made.splice(0)) spawnSync('ipcrm', ['-m', String(id)], { stdio: 'ignore' });
});

/** The kernel's line for segment `id` in /proc/sysvipc/shm, as named fields; undefined if it is gone. */
function procEntry(id: number): Record<string, number> | undefined {
  const [header, ...lines] = fs.readFileSync('/proc/sysvipc/shm', 'utf8').trim().split('\n');
  const names = header.trim().split(/\s+/);
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    // perms is printed in octal, everything else in decimal.
    const entry = Object.fromEntries(names.map((name, i) => [name, name === 'perms' ? parseInt(fields[i], 8) : Number(fields[i])]));
    if (entry.shmid === id) return entry;
  }
  return undefined;
}

/** How many attachments of segment `id` this process's address space holds. */
function attachmentsHere(id: number): number {
  return fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => /\/SYSV[0-9a-f]{8} /.test(line) && line.trim().split(/\s+/)[4] === String(id)).length;
}

describe('create', () => {
  test('makes a segment of exactly the size and mode asked, zero-filled, created', () => {
    const key = sysvKey();
    using shm = track(SysVSharedMemory.create(key, { size: 10000, mode: 0o640 }));
    expect(shm.created).toBe(true);
    expect(shm.key).toBe(key);
    expect(shm.size).toBe(10000);
    expect(shm.buffer.length).toBe(10000);
    expect(shm.buffer.every((byte) => byte === 0)).toBe(true);
    const entry = procEntry(shm.id)!;
    expect(entry.key).toBe(key);
    expect(entry.size).toBe(10000);
    expect(entry.perms).toBe(0o640);
    expect(entry.nattch).toBe(1);
    expect(entry.cpid).toBe(process.pid);
  });

  test('is exclusive: EEXIST for a key in use, and the existing segment is untouched', () => {
    const key = sysvKey();
    using shm = track(SysVSharedMemory.create(key, { size: 4096 }));
    shm.buffer[0] = 7;
    const error = thrown(() => SysVSharedMemory.create(key, { size: 8192 }));
    expect(error.code).toBe('EEXIST');
    expect(error.syscall).toBe('shmget');
    expect(error.path).toBe(`0x${key.toString(16).padStart(8, '0')}`);
    expect(procEntry(shm.id)!.size).toBe(4096);
    expect(shm.buffer[0]).toBe(7);
  });

  test('refuses bad arguments before any syscall', () => {
    const before = fs.readFileSync('/proc/sysvipc/shm', 'utf8');
    expect(thrown(() => SysVSharedMemory.create(0, { size: 1 })).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => SysVSharedMemory.create('1' as never, { size: 1 })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => SysVSharedMemory.create(2 ** 32, { size: 1 })).code).toBe('ERR_OUT_OF_RANGE');
    const key = sysvKey();
    expect(thrown(() => SysVSharedMemory.create(key, undefined as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => SysVSharedMemory.create(key, { size: 0 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => SysVSharedMemory.create(key, { size: 1.5 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => SysVSharedMemory.create(key, { size: 2 ** 53 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => SysVSharedMemory.create(key, { size: 1, mode: 0o1000 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => SysVSharedMemory.create(key, null as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => SysVSharedMemory.open(key, { readOnly: 1 as never })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => SysVSharedMemory.attach(-1)).code).toBe('ERR_OUT_OF_RANGE');
    expect(fs.readFileSync('/proc/sysvipc/shm', 'utf8')).toBe(before);
  });
});

describe('open and openOrCreate', () => {
  test('open maps the size the kernel records and shares the bytes with the creator', () => {
    const key = sysvKey();
    using creator = track(SysVSharedMemory.create(key, { size: 5000 }));
    using opened = SysVSharedMemory.open(key);
    expect(opened.created).toBe(false);
    expect(opened.id).toBe(creator.id);
    expect(opened.size).toBe(5000);
    pattern(5000, 3).copy(creator.buffer);
    expect(opened.buffer.equals(pattern(5000, 3))).toBe(true);
    opened.view(Uint32Array)[10] = 0xdeadbeef;
    expect(creator.view(Uint32Array)[10]).toBe(0xdeadbeef);
    expect(attachmentsHere(creator.id)).toBe(2);
  });

  test('open of a missing key is ENOENT', () => {
    const error = thrown(() => SysVSharedMemory.open(sysvKey()));
    expect(error.code).toBe('ENOENT');
    expect(error.syscall).toBe('shmget');
  });

  test('openOrCreate creates once, then opens at the existing size', () => {
    const key = sysvKey();
    using first = track(SysVSharedMemory.openOrCreate(key, { size: 3000 }));
    using second = SysVSharedMemory.openOrCreate(key, { size: 9000 });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.id).toBe(first.id);
    expect(second.size).toBe(3000);
  });

  test('createPrivate has no key; attach(id) reaches it', () => {
    using shm = track(SysVSharedMemory.createPrivate({ size: 100, mode: 0o600 }));
    expect(shm.key).toBe(0);
    expect(procEntry(shm.id)!.key).toBe(0);
    using other = SysVSharedMemory.attach(shm.id);
    other.buffer.write('private');
    expect(shm.buffer.toString('latin1', 0, 7)).toBe('private');
    expect(other.created).toBe(false);
  });

  test('attach of an id no segment has fails with a system error', () => {
    using shm = track(SysVSharedMemory.createPrivate({ size: 100 }));
    const { id } = shm;
    shm.remove();
    shm.close();
    const error = thrown(() => SysVSharedMemory.attach(id));
    expect(['EINVAL', 'EIDRM']).toContain(error.code);
    expect(error.syscall).toBe('shmctl');
  });
});

describe('read-only attachments', () => {
  test('have no Buffer or view (ERR_IPC_READ_ONLY); read() copies the live bytes', () => {
    const key = sysvKey();
    using writer = track(SysVSharedMemory.create(key, { size: 4096 }));
    using reader = SysVSharedMemory.open(key, { readOnly: true });
    expect(reader.readOnly).toBe(true);
    expect(thrown(() => reader.buffer).code).toBe(ErrorCodes.READ_ONLY);
    expect(thrown(() => reader.view(Uint8Array)).code).toBe(ErrorCodes.READ_ONLY);
    writer.buffer.write('first');
    const copy = reader.read(0, 5);
    expect(copy.toString()).toBe('first');
    writer.buffer.write('again');
    expect(reader.read(0, 5).toString()).toBe('again');
    expect(copy.toString()).toBe('first'); // a copy, not a view
    expect(reader.read().length).toBe(4096);
    expect(reader.read(4090).length).toBe(6);
    expect(thrown(() => reader.read(4097)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => reader.read(10, 4087)).code).toBe('ERR_OUT_OF_RANGE');
    // A lock needs to write: refused before touching the memory.
    expect(thrown(() => Mutex.create(reader, 0)).code).toBe('ERR_INVALID_ARG_VALUE');
  });

  (isRoot ? test : test.skip)('as nobody: a 0o644 segment opens read-only but not read-write (EACCES)', async () => {
    const key = sysvKey();
    using shm = track(SysVSharedMemory.create(key, { size: 3000, mode: 0o644 }));
    pattern(3000, 9).copy(shm.buffer);
    const stage = stagePackage();
    try {
      const result = await runAsNobody(stage, 'sysv-shm-peer.js', ['access', String(key), '3000', '9']);
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual({ readWrite: 'EACCES', readOnly: 'pattern' });
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  });
});

describe('stat', () => {
  test('reports size, mode, owners, attachments, pids and times', () => {
    const key = sysvKey();
    const before = Math.floor(Date.now() / 1000) * 1000;
    using shm = track(SysVSharedMemory.create(key, { size: 2048, mode: 0o660 }));
    const stat = shm.stat();
    expect(stat).toMatchObject({
      size: 2048,
      mode: 0o660,
      uid: process.getuid!(),
      gid: process.getgid!(),
      cuid: process.getuid!(),
      cgid: process.getgid!(),
      attachCount: 1,
      creatorPid: process.pid,
      lastPid: process.pid,
      detachTime: null,
      removed: false,
      key,
    });
    expect(stat.attachTime!.getTime()).toBeGreaterThanOrEqual(before);
    expect(stat.changeTime!.getTime()).toBeGreaterThanOrEqual(before);
    const second = SysVSharedMemory.open(key);
    expect(shm.stat().attachCount).toBe(2);
    second.close();
    const after = shm.stat();
    expect(after.attachCount).toBe(1);
    expect(after.detachTime).toBeInstanceOf(Date);
  });
});

describe('remove', () => {
  test('frees the key at once; the segment lives until the last attachment closes', () => {
    const key = sysvKey();
    const shm = track(SysVSharedMemory.create(key, { size: 4096 }));
    const other = SysVSharedMemory.open(key);
    shm.buffer.write('still here');
    shm.remove();
    expect(thrown(() => SysVSharedMemory.open(key)).code).toBe('ENOENT');
    const stat = shm.stat();
    expect(stat.removed).toBe(true);
    expect(stat.key).toBe(0); // the kernel forgets the key at IPC_RMID
    expect(other.buffer.toString('latin1', 0, 10)).toBe('still here');
    // The key can be used again at once, by a new segment.
    using fresh = track(SysVSharedMemory.create(key, { size: 100 }));
    expect(fresh.id).not.toBe(shm.id);
    const { id } = shm;
    shm.close();
    expect(procEntry(id)).toBeDefined();
    other.close();
    expect(procEntry(id)).toBeUndefined();
  });

  test('after close() is ERR_IPC_CLOSED (the id may name another segment by then)', () => {
    const shm = track(SysVSharedMemory.create(sysvKey(), { size: 100 }));
    shm.close();
    expect(thrown(() => shm.remove()).code).toBe(ErrorCodes.CLOSED);
    expect(procEntry(shm.id)).toBeDefined();
  });

  test('SysVSharedMemory.remove(key) removes without attaching; ENOENT for a free key', () => {
    const key = sysvKey();
    const shm = track(SysVSharedMemory.create(key, { size: 100 }));
    const { id } = shm;
    shm.close();
    SysVSharedMemory.remove(key);
    expect(procEntry(id)).toBeUndefined();
    expect(thrown(() => SysVSharedMemory.remove(key)).code).toBe('ENOENT');
  });
});

describe('close', () => {
  test('detaches every Buffer and view, then the segment; later use is ERR_IPC_CLOSED', () => {
    const shm = track(SysVSharedMemory.create(sysvKey(), { size: 4096 }));
    const buffer = shm.buffer;
    const view = shm.view(Float64Array, 8, 4);
    shm.close();
    shm.close(); // idempotent
    expect(buffer.length).toBe(0);
    expect(view.length).toBe(0);
    expect(attachmentsHere(shm.id)).toBe(0);
    expect(procEntry(shm.id)!.nattch).toBe(0);
    expect(shm.closed).toBe(true);
    for (const use of [() => shm.size, () => shm.buffer, () => shm.read(), () => shm.stat(), () => shm.created]) {
      expect(thrown(use).code).toBe(ErrorCodes.CLOSED);
    }
    expect(shm.id).toBeGreaterThanOrEqual(0); // what identifies it stays readable
  });

  test('500 attach/close cycles leave no attachment behind', () => {
    const key = sysvKey();
    using shm = track(SysVSharedMemory.create(key, { size: 65536 }));
    for (let i = 0; i < 500; i++) {
      const other = SysVSharedMemory.open(key, { readOnly: i % 2 === 0 });
      if (i % 2 === 1) other.buffer[0] = i & 0xff;
      other.close();
    }
    expect(shm.stat().attachCount).toBe(1);
    expect(attachmentsHere(shm.id)).toBe(1);
    expect(shm.buffer[0]).toBe(499 & 0xff);
  });

  test('a robust Mutex lives in a segment like in any mapping', async () => {
    using shm = track(SysVSharedMemory.create(sysvKey(), { size: 4096 }));
    const mutex = Mutex.create(shm, 0);
    await mutex.lock();
    expect(mutex.tryLock()).toBe(false);
    mutex.unlock();
    expect(mutex.tryLock()).toBe(true);
    mutex.unlock();
  });
});

// SharedMemory against the kernel, in this process: create/open semantics, names, sizes,
// permissions, read-only safety, views, and every error path.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SharedMemory, ErrorCodes, IpcError } from '../../lib';
import { fixtures, openFdCount, run, shmExists, shmNames, thrown } from '../helpers';

const newName = shmNames('shm');

describe('create / open / openOrCreate / unlink', () => {
  test('create makes an object of exactly the asked size, zero-filled, visible under /dev/shm', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 10_000 });
    expect(shm.name).toBe(name);
    expect(shm.size).toBe(10_000);
    expect(shm.created).toBe(true);
    expect(shm.buffer.length).toBe(10_000);
    expect(shm.buffer.every((b) => b === 0)).toBe(true);
    expect(fs.statSync(`/dev/shm${name}`).size).toBe(10_000);
  });

  test('names with and without the leading slash are the same object', () => {
    const name = newName();
    using a = SharedMemory.create(name.slice(1), { size: 64 });
    using b = SharedMemory.open(name);
    expect(a.name).toBe(name);
    a.buffer.write('same object');
    expect(b.buffer.toString('utf8', 0, 11)).toBe('same object');
  });

  test('open takes the size from the OS, not from the caller', () => {
    const name = newName();
    SharedMemory.create(name, { size: 12_345 }).close();
    using shm = SharedMemory.open(name);
    expect(shm.size).toBe(12_345);
    expect(shm.created).toBe(false);
  });

  test('create is exclusive: EEXIST from shm_open', () => {
    const name = newName();
    using first = SharedMemory.create(name, { size: 8 });
    const error = thrown(() => SharedMemory.create(name, { size: 8 }));
    expect(error.code).toBe('EEXIST');
    expect(error.syscall).toBe('shm_open');
    expect(error.path).toBe(name);
    expect(error.errno).toBe(-17);
    expect(error.message).toBe(`EEXIST: file already exists, shm_open '${name}'`);
    expect(first.buffer.length).toBe(8);
  });

  test('open of a missing name fails with ENOENT from shm_open', () => {
    const name = newName();
    const error = thrown(() => SharedMemory.open(name));
    expect(error).toMatchObject({ code: 'ENOENT', syscall: 'shm_open', path: name });
    expect(error.message).toBe(`ENOENT: no such file or directory, shm_open '${name}'`);
  });

  test('openOrCreate creates once, then opens what exists with its own size', () => {
    const name = newName();
    using first = SharedMemory.openOrCreate(name, { size: 4096 });
    expect(first.created).toBe(true);
    first.buffer[100] = 42;
    using second = SharedMemory.openOrCreate(name, { size: 99 });
    expect(second.created).toBe(false);
    expect(second.size).toBe(4096);
    expect(second.buffer[100]).toBe(42);
  });

  test('unlink removes the name; open mappings stay valid; unlinking again is ENOENT', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 16 });
    shm.buffer[3] = 7;
    SharedMemory.unlink(name);
    expect(shmExists(name)).toBe(false);
    expect(shm.buffer[3]).toBe(7);
    expect(thrown(() => SharedMemory.unlink(name))).toMatchObject({ code: 'ENOENT', syscall: 'shm_unlink', path: name });
  });

  test('instance unlink() works, also after close()', () => {
    const name = newName();
    const shm = SharedMemory.create(name, { size: 16 });
    shm.close();
    shm.unlink();
    expect(shmExists(name)).toBe(false);
  });
});

describe('names', () => {
  test.each([
    ['empty', ''],
    ['only a slash', '/'],
    ['an inner slash', 'a/b'],
    ['an inner slash after the leading one', '/a/b'],
    ['a null byte', 'a\0b'],
    ['a dot', '.'],
    ['two dots', '/..'],
    ['over NAME_MAX', 'x'.repeat(256)],
    ['over NAME_MAX in UTF-8 bytes', 'é'.repeat(128)],
  ])('refuses %s with ERR_INVALID_ARG_VALUE before any syscall', (_label, name) => {
    for (const call of [
      () => SharedMemory.create(name, { size: 1 }),
      () => SharedMemory.open(name),
      () => SharedMemory.openOrCreate(name, { size: 1 }),
      () => SharedMemory.unlink(name),
    ]) {
      const error = thrown(call);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
    }
  });

  test('accepts a name of exactly NAME_MAX bytes', () => {
    const name = `/${'n'.repeat(255 - 10)}${Math.random().toString(36).slice(2, 12).padEnd(10, '0')}`;
    using shm = SharedMemory.create(name, { size: 1 });
    expect(shm.name).toBe(name);
    shm.unlink();
  });

  test.each([[42], [null], [undefined], [{}], [Symbol('x')]])('refuses a non-string name %p with ERR_INVALID_ARG_TYPE', (name) => {
    const error = thrown(() => SharedMemory.open(name as unknown as string));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
  });
});

describe('sizes and options', () => {
  test.each([
    ['zero', 0, 'ERR_OUT_OF_RANGE', RangeError],
    ['negative', -1, 'ERR_OUT_OF_RANGE', RangeError],
    ['fractional', 1.5, 'ERR_OUT_OF_RANGE', RangeError],
    ['NaN', NaN, 'ERR_OUT_OF_RANGE', RangeError],
    ['Infinity', Infinity, 'ERR_OUT_OF_RANGE', RangeError],
    ['beyond 2^53', 2 ** 60, 'ERR_OUT_OF_RANGE', RangeError],
    ['beyond buffer.constants.MAX_LENGTH', 2 ** 32 + 1, 'ERR_OUT_OF_RANGE', RangeError],
    ['a string', '4096', 'ERR_INVALID_ARG_TYPE', TypeError],
    ['missing', undefined, 'ERR_INVALID_ARG_TYPE', TypeError],
    ['a bigint', 4096n, 'ERR_INVALID_ARG_TYPE', TypeError],
  ])('refuses a %s size before any syscall', (_label, size, code, Type) => {
    const name = newName();
    for (const call of [() => SharedMemory.create(name, { size: size as number }), () => SharedMemory.openOrCreate(name, { size: size as number })]) {
      const error = thrown(call);
      expect(error).toBeInstanceOf(Type);
      expect(error.code).toBe(code);
    }
    expect(shmExists(name)).toBe(false);
  });

  test('refuses bad option objects and option types', () => {
    const name = newName();
    expect(thrown(() => SharedMemory.create(name, null as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => SharedMemory.create(name, 'big' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => SharedMemory.create(name, { size: 1, mode: 0o1777 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => SharedMemory.create(name, { size: 1, mode: '600' as never })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => SharedMemory.create(name, { size: 1, reserve: 1 as never })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => SharedMemory.open(name, { readOnly: 'yes' as never })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(shmExists(name)).toBe(false);
  });

  // A private mount namespace with a 1 MiB /dev/shm stands in for a full one.
  function inSmallShm(mode: string) {
    const script = `mount -t tmpfs -o size=1m tmpfs /dev/shm && exec "${process.execPath}" "${path.join(fixtures, 'small-shm.js')}" ${mode}`;
    // Root can mount in a new mount namespace; anyone else needs a user namespace as well.
    return run('unshare', [process.getuid!() === 0 ? '-m' : '-rm', 'sh', '-c', script]);
  }

  test('an object larger than /dev/shm can hold fails at create time with ENOSPC and leaves no name', async () => {
    const result = await inSmallShm('enospc');
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ code: 'ENOSPC', syscall: 'posix_fallocate', path: '/big', left: [] });
  });

  test('reserve: false creates a sparse object anyway, and touching it then raises SIGBUS (the documented risk)', async () => {
    const result = await inSmallShm('sparse-touch');
    expect(JSON.parse(result.stdout.split('\n')[0])).toEqual({ created: true, size: 4 << 20 });
    expect(result.stdout).not.toContain('touched');
    expect(result.signal).toBe('SIGBUS');
  });

  test('reserve: false sizes without reserving; the object reads as zeros', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 1 << 20, reserve: false });
    expect(shm.stat().size).toBe(1 << 20);
    expect(shm.buffer.every((b) => b === 0)).toBe(true);
  });
});

describe('permissions', () => {
  test('default mode is 0600, private to the owner', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 1 });
    expect(shm.stat().mode & 0o777).toBe(0o600);
    expect(fs.statSync(`/dev/shm${name}`).mode & 0o777).toBe(0o600);
    expect(shm.stat().uid).toBe(process.getuid!());
  });

  test('mode widens permissions exactly, whatever the umask', () => {
    const name = newName();
    const old = process.umask(0o077);
    try {
      using shm = SharedMemory.create(name, { size: 1, mode: 0o666 });
      expect(shm.stat().mode & 0o777).toBe(0o666);
    } finally {
      process.umask(old);
    }
  });
});

describe('read-only opens', () => {
  test('a stray write through a read-only handle neither faults nor reaches the object', () => {
    const name = newName();
    using writer = SharedMemory.create(name, { size: 8192 });
    writer.buffer.fill(1);
    using reader = SharedMemory.open(name, { readOnly: true });
    expect(reader.readOnly).toBe(true);
    // Later writes by others show through pages this process has not written.
    writer.buffer[5000] = 77;
    expect(reader.buffer[5000]).toBe(77);
    // The write lands in a private copy of that page.
    reader.buffer[0] = 99;
    reader.view(Float64Array)[1] = 1.5;
    expect(reader.buffer[0]).toBe(99);
    expect(writer.buffer[0]).toBe(1);
    expect(writer.view(Float64Array)[1]).not.toBe(1.5);
    using third = SharedMemory.open(name);
    expect(third.buffer[0]).toBe(1);
  });
});

describe('views', () => {
  test('buffer and views share one ArrayBuffer over the mapping', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 64 });
    expect(shm.buffer).toBe(shm.buffer);
    const ints = shm.view(Int32Array, 8, 4);
    expect(ints.buffer).toBe(shm.buffer.buffer);
    ints[0] = 0x01020304;
    expect(shm.buffer.readInt32LE(8)).toBe(0x01020304);
    const dv = shm.view(DataView, 3, 5);
    expect(dv.byteLength).toBe(5);
    dv.setUint8(0, 200);
    expect(shm.buffer[3]).toBe(200);
    const big = shm.view(BigUint64Array, 16);
    expect(big.length).toBe(6);
    big[0] = 2n ** 63n;
    expect(shm.buffer.readBigUInt64LE(16)).toBe(2n ** 63n);
    expect(shm.view(Float64Array).length).toBe(8);
    expect(shm.view(Uint8Array, 64).length).toBe(0);
  });

  test('misaligned and out-of-bounds views are refused', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 64 });
    expect(thrown(() => shm.view(Int32Array, 2))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => shm.view(Float64Array, 4))).toBeInstanceOf(RangeError);
    expect(thrown(() => shm.view(Uint8Array, 65)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => shm.view(Uint8Array, -1)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => shm.view(Uint8Array, 1.5)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => shm.view(Uint8Array, NaN)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => shm.view(Int32Array, 60, 2)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => shm.view(Uint8Array, 0, 65)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => shm.view(Uint8Array, '0' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => shm.view(Array as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => shm.view(Buffer as never)).code).toBe('ERR_INVALID_ARG_TYPE');
  });
});

describe('close and use after close', () => {
  test('close detaches every Buffer and view taken earlier; writes to them do nothing', () => {
    const name = newName();
    const shm = SharedMemory.create(name, { size: 4096 });
    const buffer = shm.buffer;
    const ints = shm.view(Int32Array);
    const dv = shm.view(DataView);
    buffer[0] = 1;
    shm.close();
    expect(shm.closed).toBe(true);
    expect(buffer.length).toBe(0);
    expect(ints.length).toBe(0);
    expect(dv.buffer.byteLength).toBe(0);
    buffer[0] = 5;
    ints[10] = 5;
    expect(buffer[0]).toBeUndefined();
    expect(() => dv.getUint8(0)).toThrow(TypeError);
    using again = SharedMemory.open(name);
    expect(again.buffer[0]).toBe(1);
    expect(again.buffer[40]).toBe(0);
  });

  test('close is idempotent and every other use throws ERR_IPC_CLOSED', () => {
    const name = newName();
    const shm = SharedMemory.create(name, { size: 16 });
    shm.close();
    shm.close();
    shm[Symbol.dispose]();
    for (const use of [
      () => shm.buffer,
      () => shm.size,
      () => shm.view(Uint8Array),
      () => shm.flush(),
      () => shm.stat(),
      () => shm.created,
      () => shm.readOnly,
    ]) {
      const error = thrown(use);
      expect(error).toBeInstanceOf(IpcError);
      expect(error.code).toBe(ErrorCodes.CLOSED);
    }
    expect(shm.name).toBe(name);
  });

  test('using closes at the end of the block and releases the descriptor and the mapping', () => {
    const name = newName();
    const fds = openFdCount();
    let stale: Buffer;
    {
      using shm = SharedMemory.create(name, { size: 1 << 20 });
      stale = shm.buffer;
      expect(openFdCount()).toBe(fds + 1);
      expect(fs.readFileSync('/proc/self/maps', 'utf8')).toContain(`/dev/shm${name}`);
    }
    expect(stale.length).toBe(0);
    expect(openFdCount()).toBe(fds);
    expect(fs.readFileSync('/proc/self/maps', 'utf8')).not.toContain(`/dev/shm${name}`);
  });

  test('failed opens leak no descriptor', () => {
    const name = newName();
    const fds = openFdCount();
    SharedMemory.create(name, { size: 8 }).close();
    for (let i = 0; i < 50; i++) {
      expect(() => SharedMemory.create(name, { size: 8 })).toThrow();
      expect(() => SharedMemory.open(`${name}-missing`)).toThrow();
    }
    expect(openFdCount()).toBe(fds);
  });

  test('flush and stat work on an open handle', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 8192 });
    shm.buffer.fill(3);
    expect(() => shm.flush()).not.toThrow();
    const stat = shm.stat();
    expect(stat).toEqual({ size: 8192, mode: expect.any(Number), uid: process.getuid!(), gid: process.getgid!() });
  });
});

// MappedFile.create / openOrCreate: the create/open/openOrCreate rule for files, against the
// kernel (O_EXCL, the umask, RLIMIT_FSIZE) and against other processes racing for the same path.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MappedFile } from '../../lib';
import { repoRoot, run, scratchDir, thrown } from '../helpers';

let counter = 0;
function newPath(): string {
  counter += 1;
  return path.join(scratchDir(), `create-${process.pid}-${counter}.bin`);
}

describe('MappedFile.create', () => {
  test('creates a missing file of `size` bytes, zeroed, mode 0600 under the umask, and says created', () => {
    const file = newPath();
    const old = process.umask(0o022);
    try {
      using mapped = MappedFile.create(file, { size: 12_288 });
      expect(mapped.created).toBe(true);
      expect(mapped.size).toBe(12_288);
      expect(mapped.path).toBe(file);
      expect(mapped.buffer.every((b) => b === 0)).toBe(true);
      expect(fs.statSync(file).size).toBe(12_288);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      mapped.buffer.write('made');
      mapped.flush();
      expect(fs.readFileSync(file).subarray(0, 4).toString()).toBe('made');
    } finally {
      process.umask(old);
    }
  });

  test('mode is filtered by the umask, as open(2) does (unlike SharedMemory)', () => {
    const file = newPath();
    const old = process.umask(0o027);
    try {
      using mapped = MappedFile.create(file, { size: 1, mode: 0o666 });
      expect(fs.statSync(file).mode & 0o777).toBe(0o640);
      expect(mapped.stat().mode).toBe(0o640);
    } finally {
      process.umask(old);
    }
  });

  test('fails with EEXIST when anything is at the path, and leaves it as it was', () => {
    const file = newPath();
    fs.writeFileSync(file, 'keep me');
    const error = thrown(() => MappedFile.create(file, { size: 4096 }));
    expect(error.code).toBe('EEXIST');
    expect(error.syscall).toBe('open');
    expect(error.path).toBe(file);
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
    const empty = newPath();
    fs.writeFileSync(empty, '');
    expect(thrown(() => MappedFile.create(empty, { size: 1 })).code).toBe('EEXIST');
    expect(fs.statSync(empty).size).toBe(0);
    expect(thrown(() => MappedFile.create(scratchDir(), { size: 1 })).code).toBe('EEXIST');
  });

  test('bad arguments are coded errors, thrown before any file is made', () => {
    const file = newPath();
    const cases: [() => unknown, string][] = [
      [() => MappedFile.create(file, undefined as never), 'ERR_INVALID_ARG_TYPE'], // size is required
      [() => MappedFile.create(file, {} as never), 'ERR_INVALID_ARG_TYPE'],
      [() => MappedFile.create(file, null as never), 'ERR_INVALID_ARG_TYPE'],
      [() => MappedFile.create(file, { size: 0 }), 'ERR_OUT_OF_RANGE'],
      [() => MappedFile.create(file, { size: 1.5 }), 'ERR_OUT_OF_RANGE'],
      [() => MappedFile.create(file, { size: '4096' as never }), 'ERR_INVALID_ARG_TYPE'],
      [() => MappedFile.create(file, { size: 1, mode: 0o1000 }), 'ERR_OUT_OF_RANGE'],
      [() => MappedFile.create(file, { size: 1, reserve: 'no' as never }), 'ERR_INVALID_ARG_TYPE'],
      [() => MappedFile.create('', { size: 1 }), 'ERR_INVALID_ARG_VALUE'],
      [() => MappedFile.create(`${file}\0x`, { size: 1 }), 'ERR_INVALID_ARG_VALUE'],
      [() => MappedFile.create(42 as never, { size: 1 }), 'ERR_INVALID_ARG_TYPE'],
      [() => MappedFile.openOrCreate(file, { size: 0 }), 'ERR_OUT_OF_RANGE'],
      [() => MappedFile.openOrCreate(file, {} as never), 'ERR_INVALID_ARG_TYPE'],
      [() => MappedFile.openOrCreate(file, { size: 1, readOnly: 1 as never }), 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [call, code] of cases) expect(thrown(call).code).toBe(code);
    expect(fs.existsSync(file)).toBe(false);
  });

  // RLIMIT_FSIZE (with SIGXFSZ ignored) makes sizing the new file fail with EFBIG after open()
  // created it. The control is open({ create: true }), which leaves what it created behind.
  test('a file that cannot be sized is removed again; open({ create: true }) is the control that keeps it', async () => {
    const file = newPath();
    const script = `
      const { MappedFile } = require(${JSON.stringify(repoRoot)});
      const fs = require('node:fs');
      const file = ${JSON.stringify(file)};
      const out = {};
      for (const [how, call] of [
        ['create', () => MappedFile.create(file, { size: 1 << 20 })],
        ['createSparse', () => MappedFile.create(file, { size: 1 << 20, reserve: false })],
        ['openOrCreate', () => MappedFile.openOrCreate(file, { size: 1 << 20 })],
        ['open', () => MappedFile.open(file, { create: true, size: 1 << 20 })],
      ]) {
        try { call(); out[how] = 'mapped'; } catch (error) { out[how] = [error.code, fs.existsSync(file)]; }
        fs.rmSync(file, { force: true });
      }
      console.log(JSON.stringify(out));`;
    const result = await run('sh', ['-c', 'trap "" XFSZ; ulimit -f 64; exec "$0" -e "$1"', process.execPath, script]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      create: ['EFBIG', false],
      createSparse: ['EFBIG', false],
      openOrCreate: ['EFBIG', false],
      open: ['EFBIG', true],
    });
  });
});

describe('MappedFile.openOrCreate', () => {
  test('creates a missing file like create', () => {
    const file = newPath();
    const old = process.umask(0o022);
    try {
      using mapped = MappedFile.openOrCreate(file, { size: 8192 });
      expect(mapped.created).toBe(true);
      expect(mapped.size).toBe(8192);
      expect(fs.statSync(file).size).toBe(8192);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });

  test('maps an existing file whole, at the size it has, whatever `size` says', () => {
    const file = newPath();
    fs.writeFileSync(file, Buffer.from('existing bytes'));
    fs.chmodSync(file, 0o640);
    {
      using mapped = MappedFile.openOrCreate(file, { size: 1 << 20, mode: 0o666 });
      expect(mapped.created).toBe(false);
      expect(mapped.size).toBe(14);
      expect(mapped.buffer.toString()).toBe('existing bytes');
    }
    expect(fs.statSync(file).size).toBe(14);
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
  });

  test('readOnly maps private copy-on-write, whether it found the file or created it', () => {
    const existing = newPath();
    fs.writeFileSync(existing, Buffer.alloc(4096, 1));
    const missing = newPath();
    for (const [file, created, size] of [
      [existing, false, 4096],
      [missing, true, 8192],
    ] as const) {
      using mapped = MappedFile.openOrCreate(file, { size: 8192, readOnly: true });
      expect([mapped.created, mapped.readOnly, mapped.size]).toEqual([created, true, size]);
      const before = fs.readFileSync(file);
      mapped.buffer[0] = 0x7f; // lands in a private page
      mapped.flush();
      expect(fs.readFileSync(file).equals(before)).toBe(true);
    }
  });

  test('something at the path that is not a regular file is refused, not replaced', () => {
    expect(thrown(() => MappedFile.openOrCreate(scratchDir(), { size: 1 })).code).toBe('EISDIR');
  });

  test('open() says created: false even when create: true made the file (an O_CREAT open cannot tell)', () => {
    const file = newPath();
    using mapped = MappedFile.open(file, { create: true, size: 64 });
    expect(fs.existsSync(file)).toBe(true);
    expect(mapped.created).toBe(false);
  });

  test('processes racing openOrCreate on one missing path: exactly one creates, all map the same file', async () => {
    const rounds = 20;
    const racers = 3;
    const files = Array.from({ length: rounds }, () => newPath());
    const start = Date.now() + 500; // a common start, so that the racers meet at every path
    const script = `
      const { MappedFile } = require(${JSON.stringify(repoRoot)});
      const files = ${JSON.stringify(files)};
      while (Date.now() < ${start});
      const out = [];
      for (const file of files) {
        const mapped = MappedFile.openOrCreate(file, { size: 4096 });
        out.push([mapped.created, mapped.size]);
        mapped.close();
      }
      console.log(JSON.stringify(out));`;
    const results = await Promise.all(Array.from({ length: racers }, () => run(process.execPath, ['-e', script])));
    const reports = results.map((r) => {
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as [boolean, number][];
    });
    for (let i = 0; i < rounds; i++) {
      const creators = reports.filter((report) => report[i][0]).length;
      expect(creators).toBe(1);
      // An opener that lands between the creator's open and its sizing maps 0 bytes (documented);
      // every other one sees the whole file.
      for (const report of reports) expect([0, 4096]).toContain(report[i][1]);
      expect(fs.statSync(files[i]).size).toBe(4096);
    }
  });
});

// MappedFile: regular files through the same mapping machinery.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MappedFile, ErrorCodes } from '../../lib';
import { openFdCount, run, scratchDir, thrown } from '../helpers';

let counter = 0;
function newPath(): string {
  counter += 1;
  return path.join(scratchDir(), `file-${counter}.bin`);
}

test('maps an existing file at its size; writes reach the file', () => {
  const file = newPath();
  fs.writeFileSync(file, Buffer.from('hello, mapped world'));
  using mapped = MappedFile.open(file);
  expect(mapped.path).toBe(file);
  expect(mapped.size).toBe(19);
  expect(mapped.buffer.toString()).toBe('hello, mapped world');
  mapped.buffer.write('HELLO');
  mapped.flush();
  expect(fs.readFileSync(file, 'utf8')).toBe('HELLO, mapped world');
});

test('another process sees writes through the mapping and the mapping sees its writes', async () => {
  const file = newPath();
  fs.writeFileSync(file, Buffer.alloc(8192));
  using mapped = MappedFile.open(file);
  mapped.view(Uint32Array)[0] = 0xdeadbeef;
  const read = await run(process.execPath, [
    '-e',
    `const b=require('fs').readFileSync(${JSON.stringify(file)}); console.log(b.readUInt32LE(0).toString(16)); require('fs').writeFileSync(${JSON.stringify(file)}, Buffer.from('zz'), { flag: 'r+' })`,
  ]);
  expect(read.stdout).toBe('deadbeef\n');
  expect(mapped.buffer.toString('latin1', 0, 2)).toBe('zz');
});

test('size extends a writable file (reserving its blocks) and never shrinks it', () => {
  const file = newPath();
  fs.writeFileSync(file, 'abc');
  {
    using mapped = MappedFile.open(file, { size: 100_000 });
    expect(mapped.size).toBe(100_000);
    expect(mapped.buffer.toString('utf8', 0, 3)).toBe('abc');
    mapped.buffer[99_999] = 1;
  }
  expect(fs.statSync(file).size).toBe(100_000);
  expect(fs.statSync(file).blocks * 512).toBeGreaterThanOrEqual(100_000);
  using small = MappedFile.open(file, { size: 10 });
  expect(small.size).toBe(10);
  expect(fs.statSync(file).size).toBe(100_000);
});

test('create makes a missing file with mode 0600 by default', () => {
  const file = newPath();
  const old = process.umask(0o022);
  try {
    using mapped = MappedFile.open(file, { create: true, size: 4096 });
    expect(mapped.size).toBe(4096);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(mapped.stat().size).toBe(4096);
  } finally {
    process.umask(old);
  }
});

test('read-only: stray writes stay private; mapping past the end is refused', () => {
  const file = newPath();
  fs.writeFileSync(file, Buffer.alloc(4096, 1));
  using mapped = MappedFile.open(file, { readOnly: true });
  mapped.buffer[0] = 9;
  expect(mapped.buffer[0]).toBe(9);
  expect(fs.readFileSync(file)[0]).toBe(1);
  expect(thrown(() => MappedFile.open(file, { readOnly: true, size: 8192 }))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  expect(fs.statSync(file).size).toBe(4096);
  expect(thrown(() => MappedFile.open(file, { readOnly: true, create: true })).code).toBe('ERR_INVALID_ARG_VALUE');
});

test('an empty file maps as an empty buffer', () => {
  const file = newPath();
  fs.writeFileSync(file, '');
  using mapped = MappedFile.open(file);
  expect(mapped.size).toBe(0);
  expect(mapped.buffer.length).toBe(0);
  expect(mapped.view(Uint8Array).length).toBe(0);
});

test('error paths: missing file, directory, FIFO (without blocking), bad arguments, use after close', () => {
  const missing = newPath();
  expect(thrown(() => MappedFile.open(missing))).toMatchObject({ code: 'ENOENT', syscall: 'open', path: missing });
  expect(thrown(() => MappedFile.open(scratchDir()))).toMatchObject({ code: 'EISDIR', syscall: 'open' });
  expect(thrown(() => MappedFile.open(scratchDir(), { readOnly: true })).code).toBe('ERR_INVALID_ARG_VALUE');
  const fifo = newPath();
  execFileSync('mkfifo', [fifo]);
  const fds = openFdCount();
  expect(thrown(() => MappedFile.open(fifo, { readOnly: true })).code).toBe('ERR_INVALID_ARG_VALUE');
  expect(openFdCount()).toBe(fds);
  expect(thrown(() => MappedFile.open(42 as never)).code).toBe('ERR_INVALID_ARG_TYPE');
  expect(thrown(() => MappedFile.open('')).code).toBe('ERR_INVALID_ARG_VALUE');
  expect(thrown(() => MappedFile.open(missing, { size: -1 })).code).toBe('ERR_OUT_OF_RANGE');
  expect(thrown(() => MappedFile.open(missing, { size: 0.5 })).code).toBe('ERR_OUT_OF_RANGE');
  const file = newPath();
  fs.writeFileSync(file, 'x');
  const mapped = MappedFile.open(file);
  const stale = mapped.buffer;
  mapped.close();
  mapped.close();
  expect(stale.length).toBe(0);
  expect(thrown(() => mapped.buffer).code).toBe(ErrorCodes.CLOSED);
  expect(thrown(() => mapped.flush()).code).toBe(ErrorCodes.CLOSED);
});

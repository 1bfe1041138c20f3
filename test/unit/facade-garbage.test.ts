// The entry points that the create/open/openOrCreate rule added (MappedFile.create and
// openOrCreate, Mutex/Condition/Barrier.openOrCreate) get every JavaScript type in every
// argument: each call returns or throws an error with a string code, and the process survives.
// It runs in a child, in a scratch folder (a garbage string may be a valid relative path).
import { repoRoot, run, scratchDir } from '../helpers';

test('every JavaScript type in every argument: a coded error or a result, never a crash', async () => {
  const script = `
    const ipckit = require(${JSON.stringify(repoRoot)});
    const name = '/ipckit-facade-garbage-' + process.pid;
    const shm = ipckit.SharedMemory.create(name, { size: 4096 });
    const values = [undefined, null, true, 0, -1, 1.5, NaN, Infinity, 2 ** 53, 8n, '', 'x', '\\0', Symbol('s'), {}, [], () => 0,
      new Proxy({}, { get() { throw new Error('trap'); } }), Object.create(null), { size: 1 }, { size: -1 }, { size: '1' },
      { size: 1, mode: 0o7777 }, { size: 1, readOnly: 'no' }, shm, shm.buffer, new Int32Array(2)];
    const calls = {
      'MappedFile.create': (a, b) => ipckit.MappedFile.create(a, b),
      'MappedFile.openOrCreate': (a, b) => ipckit.MappedFile.openOrCreate(a, b),
      'Mutex.openOrCreate': (a, b) => ipckit.Mutex.openOrCreate(a, b),
      'Condition.openOrCreate': (a, b) => ipckit.Condition.openOrCreate(a, b),
      'Barrier.openOrCreate': (a, b, c) => ipckit.Barrier.openOrCreate(a, b, c),
    };
    const uncoded = [];
    let calls_ = 0;
    for (const [label, call] of Object.entries(calls)) {
      for (let position = 0; position < 3; position++) {
        for (const value of values) {
          // Valid arguments everywhere but the position under test.
          const args = label.startsWith('MappedFile') ? ['garbage.bin', { size: 64 }, undefined] : [shm, 512, 2];
          args[position] = value;
          calls_++;
          try {
            const handle = call(...args);
            if (handle && typeof handle.close === 'function') handle.close();
            require('node:fs').rmSync('garbage.bin', { force: true });
          } catch (error) {
            // A getter that throws is the caller's own error, passed through as Node's APIs do.
            if (error instanceof Error && error.message === 'trap') continue;
            const code = error && error.code;
            if (typeof code !== 'string' || !/^(ERR_|E[A-Z0-9]+$)/.test(code)) uncoded.push([label, position, String(error)]);
          }
        }
      }
    }
    shm.close();
    ipckit.SharedMemory.unlink(name);
    console.log(JSON.stringify({ calls: calls_, uncoded }));`;
  const result = await run(process.execPath, ['-e', script], { cwd: scratchDir() });
  expect(result.signal).toBeNull();
  expect(result.stderr).toBe('');
  expect(JSON.parse(result.stdout)).toEqual({ calls: 5 * 3 * 27, uncoded: [] });
});

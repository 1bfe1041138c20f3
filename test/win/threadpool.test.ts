// The Windows primitives' waits never occupy a libuv threadpool thread: with 32 of them pending
// (accepts, connects to a busy server, pipe receives, stream reads and blocked sends, mailslot
// receives, semaphore and Channel waits), fs.readFile still completes, and closing each waiting
// handle ends its wait with ERR_IPC_CLOSED (the connects, which have no handle yet, by abort).
// Judged by order, as in test/lifecycle/threadpool.test.ts: the reads complete while every wait
// is still pending.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runNode } from '../helpers';

function runChild(mode: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ipckit-win-tp-${mode}-`));
  return runNode('win-threadpool-child.js', [mode, dir], { env: { ...process.env, UV_THREADPOOL_SIZE: '4' }, timeout: 60_000 }).finally(() =>
    fs.rmSync(dir, { recursive: true, force: true }),
  );
}

test('the harness notices a parked threadpool: four fs.read() calls on silent pipes stall fs.readFile', async () => {
  const result = await runChild('control');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toMatchObject({ readsDoneBeforeRelease: false });
}, 90_000);

test('with 32 waits of the Windows primitives pending, fs.readFile does not stall; close() ends each with ERR_IPC_CLOSED (an abort, the connects)', async () => {
  const result = await runChild('ipckit');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report).toMatchObject({ readsDoneBeforeRelease: true, early: [], stillPending: 32 });
  expect(report.codes).toEqual(['ERR_IPC_ABORTED', 'ERR_IPC_CLOSED']);
}, 90_000);

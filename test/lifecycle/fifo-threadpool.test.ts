// FIFO streams and the writer's wait for a reader must never occupy a libuv threadpool thread:
// with 8 reads and 1 wait pending under a pool of 4, fs, crypto and dns work still completes. A
// control shows that Node's own fs.createReadStream on FIFOs parks the pool, so the check can
// fail. Judged by order (the work completes while everything is still pending), never by time.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runNode, scratchDir } from '../helpers';

function runChild(mode: string) {
  const dir = fs.mkdtempSync(path.join(scratchDir(), `fifo-${mode}-`));
  return runNode('fifo-threadpool-child.js', [mode, dir], { env: { ...process.env, UV_THREADPOOL_SIZE: '4' }, timeout: 60000 });
}

test('the control: fs.createReadStream on 4 FIFOs without writers parks the pool until they are released', async () => {
  const result = await runChild('control');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  // The work completed only after the FIFOs were released. How many of the streams' reads were
  // still pending when it did varies: once released, their reads and the work share the pool in
  // whatever order the pool takes them (a CI run saw 1), so that count is not judged here.
  const { workDoneBeforeRelease, received, writerOpened } = JSON.parse(result.stdout);
  expect({ workDoneBeforeRelease, received, writerOpened }).toEqual({ workDoneBeforeRelease: false, received: 4, writerOpened: false });
});

test('with 8 Fifo readers waiting for data and a writer waiting for a reader, the pool work completes', async () => {
  const result = await runChild('ipckit');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0); // (killed at the timeout: the work never completed)
  // All 9 were still pending when the work completed; each was served afterwards.
  expect(JSON.parse(result.stdout)).toEqual({ workDoneBeforeRelease: true, pendingAtWorkDone: 9, received: 9, writerOpened: true });
});

// A pending receive must never occupy a libuv threadpool thread: with 32 receives pending,
// fs.readFile still completes (a binding that waits on the pool freezes it with four). Judged by
// order (the reads complete while every receive is still pending), never by how long they took.
import { runNode, scratchDir } from '../helpers';
import * as fs from 'node:fs';
import * as path from 'node:path';

function runChild(mode: string) {
  const dir = fs.mkdtempSync(path.join(scratchDir(), `${mode}-`));
  return runNode('threadpool-child.js', [mode, dir], { env: { ...process.env, UV_THREADPOOL_SIZE: '4' }, timeout: 30000 });
}

test('the harness notices a parked threadpool: four waits on it stall fs.readFile', async () => {
  const result = await runChild('control');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const report = JSON.parse(result.stdout);
  // The reads were still waiting for a thread when the FIFOs were opened, and completed after.
  expect(report).toMatchObject({ readsDoneBeforeRelease: false, pendingMs: expect.any(Number) });
});

test('with 16 System V and 16 POSIX receives pending, fs.readFile does not stall', async () => {
  const result = await runChild('ipckit');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0); // (killed at the timeout: the reads never completed)
  const report = JSON.parse(result.stdout);
  // The reads completed while all the receives were still waiting; those ended cleanly afterwards.
  expect(report).toMatchObject({ readsDoneBeforeRelease: true, stillPending: 32 });
  expect(report.codes).toEqual(['ERR_IPC_CLOSED']);
  console.log(`fs.readFile x20: ${report.baselineMs.toFixed(1)} ms with nothing pending, ${report.pendingMs.toFixed(1)} ms with 32 receives pending`);
});

test('with 16 Channel receives and 16 Channel sends pending, fs.readFile does not stall', async () => {
  const result = await runChild('channel');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report).toMatchObject({ readsDoneBeforeRelease: true, stillPending: 32 });
  expect(report.codes).toEqual(['ERR_IPC_CLOSED']);
});

test('with 16 EventFd reads and 16 EventFd writes pending, fs.readFile does not stall', async () => {
  const result = await runChild('eventfd');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report).toMatchObject({ readsDoneBeforeRelease: true, stillPending: 32 });
  expect(report.codes).toEqual(['ERR_IPC_CLOSED']);
});

test('with 32 UnixSocket receives and 2 UnixServer accepts pending, fs.readFile does not stall', async () => {
  const result = await runChild('unix');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report).toMatchObject({ readsDoneBeforeRelease: true, stillPending: 34 });
  expect(report.codes).toEqual(['ERR_IPC_CLOSED']);
});

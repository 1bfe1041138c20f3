// A pending receive must never occupy a libuv threadpool thread: with 32 receives pending,
// fs.readFile still completes (a binding that waits on the pool freezes it with four).
import { runNode, scratchDir } from './helpers';
import * as fs from 'node:fs';
import * as path from 'node:path';

function runChild(mode: string) {
  const dir = fs.mkdtempSync(path.join(scratchDir(), `${mode}-`));
  return runNode('threadpool-child.js', [mode, dir], { env: { ...process.env, UV_THREADPOOL_SIZE: '4' }, timeout: 30000 });
}

test('the harness notices a parked threadpool: four waits on it stall fs.readFile', async () => {
  const result = await runChild('control');
  expect(result.stderr).toBe('');
  const report = JSON.parse(result.stdout);
  expect(report.baselineMs).not.toBeNull();
  expect(report.pendingMs).toBeNull();
});

test('with 16 System V and 16 POSIX receives pending, fs.readFile does not stall', async () => {
  const result = await runChild('ipckit');
  expect(result.stderr).toBe('');
  const report = JSON.parse(result.stdout);
  expect(report.baselineMs).not.toBeNull();
  expect(report.pendingMs).not.toBeNull();
  // The receives were still waiting while the reads ran, and ended cleanly afterwards.
  expect(report.stillPending).toBe(32);
  expect(report.codes).toEqual(['ERR_IPC_CLOSED']);
  console.log(`fs.readFile x20: ${report.baselineMs.toFixed(1)} ms with nothing pending, ${report.pendingMs.toFixed(1)} ms with 32 receives pending`);
});

// The README's first command runs this demo; it must keep working and stay honest.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, run } from '../helpers';

test('the demo exchanges data with Python through shared memory and every checksum matches', async () => {
  const result = await run(process.execPath, [path.join(repoRoot, 'examples', 'demo.js')]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/\[python\] read \d+ bytes at offset 64: 'hello from Node v\d+/);
  expect(result.stdout).toMatch(/\[node\] {3}read Python's reply in place: 'hello from Python 3\./);
  expect(result.stdout).toContain("Python's CRC-32 matched Node's for 512 of 512");
  expect(result.stdout).toMatch(/throughput: 512 MiB in [\d.]+ s = \d+ MiB\/s/);
  const pid = /pid (\d+)'/.exec(result.stdout)![1];
  expect(fs.existsSync(`/dev/shm/ipckit-demo-${pid}`)).toBe(false);
});

// What another local user can plant under a shared-memory name in /dev/shm: a FIFO (whose
// read-only open used to block the process forever, found by the fuzzer) or a directory. Every
// open refuses it with ERR_IPC_INVALID_OBJECT and leaks no descriptor; the calls run in a child
// so that a hang or crash shows as such.
import * as fs from 'node:fs';
import { repoRoot, run, uniqueName } from '../helpers';

const script = `
const { SharedMemory } = require(process.argv[1]);
const fds = () => require('fs').readdirSync('/proc/self/fd').length;
const before = fds();
const codes = [];
for (const call of [
  () => SharedMemory.open(process.argv[2], { readOnly: true }),
  () => SharedMemory.open(process.argv[2]),
  () => SharedMemory.openOrCreate(process.argv[2], { size: 64 }),
]) {
  try { call(); codes.push('opened'); } catch (error) { codes.push(error.code); }
}
console.log(JSON.stringify({ codes, leaked: fds() - before }));
`;

for (const kind of ['FIFO', 'directory'] as const) {
  test(`a ${kind} planted at the name is refused by every open`, async () => {
    const name = uniqueName(`planted-${kind}`);
    const file = `/dev/shm/${name.slice(1)}`;
    if (kind === 'FIFO') await run('mkfifo', ['-m', '0666', file]);
    else fs.mkdirSync(file);
    try {
      const result = await run(process.execPath, ['-e', script, require.resolve(repoRoot), name], { timeout: 30000 });
      expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
      // A directory opened for writing fails in shm_open itself (glibc reports EISDIR as EINVAL).
      const codes = kind === 'FIFO' ? Array(3).fill('ERR_IPC_INVALID_OBJECT') : ['ERR_IPC_INVALID_OBJECT', 'EINVAL', 'EINVAL'];
      expect(JSON.parse(result.stdout)).toEqual({ codes, leaked: 0 });
      expect(fs.lstatSync(file).isFile()).toBe(false); // left as it was
    } finally {
      fs.rmSync(file, { recursive: true, force: true });
    }
  });
}

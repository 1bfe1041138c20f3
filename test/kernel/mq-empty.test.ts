// Empty messages round-trip on both queue kinds, and never reach the kernel as a NULL buffer:
// mq_send's buffer is declared nonnull, and an empty Buffer's data pointer may be NULL.
import { spawnSync } from 'node:child_process';
import { PosixMessageQueue } from '../../lib';
import { compileC, preloadWith, runNode, sysvKey, uniqueName } from '../helpers';

test('empty messages round-trip through every send and receive path, with no NULL buffer', async () => {
  const guard = compileC('null_buffer_guard.c', ['-shared', '-fPIC']);
  const name = uniqueName('empty');
  const key = sysvKey();
  try {
    const result = await runNode('empty-messages.js', [name, String(key)], {
      env: { ...process.env, LD_PRELOAD: preloadWith(guard) },
      timeout: 30000,
    });
    expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
    const lengths = JSON.parse(result.stdout) as { posix: number[]; sysv: number[] };
    expect(lengths.posix).toEqual([...Array(12).fill(0), 0, 1, 0]);
    expect(lengths.sysv).toEqual([...Array(18).fill(0), 0, 1, 0]);
  } finally {
    // The fixture removes both itself, unless it died first.
    spawnSync('ipcrm', ['-Q', String(key)], { stdio: 'ignore' });
    try {
      PosixMessageQueue.unlink(name);
    } catch (error) {
      // eslint-disable-next-line no-unsafe-finally -- a queue left behind is a failure of its own
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
});

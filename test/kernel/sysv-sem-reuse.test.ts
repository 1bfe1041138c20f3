// A System V semaphore set handle outliving its set: once the kernel's ids wrap, the removed set's
// id names another set. Nothing done through the old handle may read or write past its buffers
// (the process must survive) or touch the other set.
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { compileC, fixtures, run } from '../helpers';

// Much larger than the handle's 2 semaphores, so a buffer sized from the handle's count would be
// overrun by 7992 bytes.
const OTHER_COUNT = 4000;

test('every method of a handle whose id now names a larger set fails with EIDRM; the other set is left alone', async () => {
  const helper = compileC('sysv_sem_reuse.c');
  const child = spawn(process.execPath, [path.join(fixtures, 'sem-reuse.js')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`sem-reuse.js ended early: ${JSON.stringify(await exited)} ${stderr}`);
    return value as string;
  };
  let id = -1;
  try {
    ({ id } = JSON.parse(await nextLine()) as { id: number });
    // Cycles private sets until the kernel hands out `id` again (about 64 * 65535 semget calls
    // here), and leaves a set of OTHER_COUNT semaphores under it.
    const reuse = await run(helper, ['make', String(id), String(OTHER_COUNT)], { timeout: 240000 });
    expect(reuse).toMatchObject({ code: 0, stderr: '' });
    expect(Number(reuse.stdout.split(' ')[0])).toBe(id);

    child.stdin.write('go\n');
    const results = JSON.parse(await nextLine()) as { label: string; ok?: boolean; value?: unknown; code?: string; syscall?: string }[];
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(stderr).toBe('');
    const stranger = { code: 'EIDRM', syscall: 'semctl' };
    expect(results.map(({ label, ok, value, code, syscall }) => (ok ? { label, value } : { label, code, syscall }))).toEqual([
      { label: 'getAll', ...stranger },
      { label: 'setAll', ...stranger },
      // The handle's own count still decides what setAll accepts.
      { label: "setAll of the other set's size", code: 'ERR_INVALID_ARG_VALUE' },
      { label: 'get 0', ...stranger },
      { label: 'get 1', ...stranger },
      { label: 'set', ...stranger },
      { label: 'tryOp', ...stranger },
      { label: 'opSync', ...stranger },
      { label: 'op', ...stranger },
      { label: 'op that would wait', ...stranger },
      { label: 'stat', ...stranger },
      { label: 'remove', ...stranger },
      { label: 'count', value: 2 },
      { label: 'id', value: id },
      { label: 'close' },
      { label: 'getAll after close', code: 'ERR_IPC_CLOSED' },
    ]);
    // Neither removed nor changed.
    expect(await run(helper, ['check', String(id)])).toMatchObject({ code: 0, stdout: `${OTHER_COUNT} intact\n` });
  } finally {
    child.kill('SIGKILL');
    // Whichever set holds the id now is this test's: the fixture's own (if it died before
    // removing it) or the helper's. No one else can get this id back in the meantime.
    if (id >= 0) spawnSync('ipcrm', ['-s', String(id)], { stdio: 'ignore' });
  }
}, 300000);

// A process that starts with ipckit's cancel signal (SIGRTMAX - 4) ignored, as a parent's
// `trap '' 60` leaves it across exec: ipckit takes the signal over, so aborts, close() and the
// watchdog's timeouts still stop waits that are in the kernel. Before, the ignored signal was
// left alone and such a wait stayed pending until it completed by itself.
import * as path from 'node:path';
import { run } from '../helpers';

const dist = JSON.stringify(path.join(__dirname, '..', '..', 'dist'));

const script = `
const { SysVMessageQueue, Semaphore } = require(${dist});
(async () => {
  const out = {};
  const q = SysVMessageQueue.createPrivate();
  out.timeout = await q.receive({ timeout: 100, spin: 0 }).catch((e) => e.code);
  const controller = new AbortController();
  const aborted = q.receive({ signal: controller.signal, spin: 0 }).catch((e) => e.code);
  setTimeout(() => controller.abort(), 30);
  out.abort = await aborted;
  q.remove();
  q.close();
  const key = 0x51000000 + (process.pid & 0xffffff);
  const keyed = SysVMessageQueue.create(key);
  const closing = keyed.receive({ spin: 0 }).catch((e) => e.code);
  setTimeout(() => keyed.close(), 30);
  out.close = await closing;
  const again = SysVMessageQueue.open(key);
  again.remove();
  again.close();
  const name = '/ipckit-sigign-' + process.pid;
  const sem = Semaphore.create(name);
  Semaphore.unlink(name);
  const c2 = new AbortController();
  const semAborted = sem.wait({ signal: c2.signal }).catch((e) => e.code);
  setTimeout(() => c2.abort(), 30);
  out.semAbort = await semAborted;
  sem.close();
  console.log(JSON.stringify(out));
})();
`;

test('with SIGRTMAX-4 ignored at start, a wait in the kernel is still stopped by timeout, abort and close()', async () => {
  // bash's trap sets SIG_IGN for the signal, which exec keeps (Node resets only 1-31).
  const result = await run('bash', ['-c', 'trap "" $(( $(kill -l SIGRTMAX) - 4 )); exec "$0" -e "$1"', process.execPath, script], {
    timeout: 30_000,
  });
  expect(result.stderr).toBe('');
  expect(JSON.parse(result.stdout)).toEqual({
    timeout: 'ERR_IPC_TIMEOUT',
    abort: 'ERR_IPC_ABORTED',
    close: 'ERR_IPC_CLOSED',
    semAbort: 'ERR_IPC_ABORTED',
  });
});

test('control: the shell really starts the child with the signal ignored', async () => {
  const result = await run('bash', [
    '-c',
    'trap "" $(( $(kill -l SIGRTMAX) - 4 )); exec "$0" -e "$1"',
    process.execPath,
    "console.log(require('fs').readFileSync('/proc/self/status', 'utf8').match(/SigIgn:\\s*([0-9a-f]+)/)[1])",
  ]);
  const ignored = BigInt('0x' + result.stdout.trim());
  // Signal n is bit n-1 of SigIgn; SIGRTMAX - 4 is 60 on Linux with glibc.
  expect((ignored >> 59n) & 1n).toBe(1n);
});

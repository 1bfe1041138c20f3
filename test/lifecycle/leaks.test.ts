// Leak loops: 100,000 create/use/close cycles of each primitive in one process (a child run with
// --expose-gc: test/fixtures/leak-loop.js), measured after a 10,000-cycle warm-up. After the loop
// the process must hold what it held after the warm-up: the same descriptors, the same
// file-backed mappings (so no object of ipckit's stays mapped), no more threads; RSS and the V8
// heap within the bounds below; and no shared memory, semaphore or queue name, and no System V
// queue or set, left behind. The figures are printed, so the test log shows them.
//
// The bounds, from measurements on the 2-core CI machine (Node 20, 100,000 cycles each):
// - RSS: at most +48 MiB over the post-warm-up value. Measured: +0 to +28 MiB. The large rises
//   level off, and are not leaks: under a high allocation rate V8 enlarges its heap (heapTotal
//   from 5 to 37 MiB in the shm, mapped-file, posix-mq and wait loops, one 256 KiB mapping per
//   step: the +100 maps lines), and malloc's heap rises to a high-water mark (posix-mq: to
//   +26 MiB by 50,000 cycles, then flat; heaptrack finds nothing more left unfreed after 240,000
//   cycles than after 60,000). 48 MiB still catches a leak of 560 bytes per cycle.
// - RSS over the last 40,000 cycles: at most +16 MiB. A leak keeps climbing where a high-water
//   mark has levelled off; this catches 420 bytes per cycle. Measured: at most +2 MiB, except the
//   System V queue loop, +4 to +8 MiB (more when another loop runs beside it): its malloc heap
//   keeps creeping by ~100 bytes per cycle, slower and slower, though heaptrack counts the same
//   827 KiB never freed after 60,000 cycles as after 240,000 (fragmentation, not a leak).
// - V8 heap in use: at most +4 MiB (measured at most +0.25 MiB): catches 47 bytes of JavaScript
//   kept per cycle (a registry entry, a listener, a closure).
// - All /proc/self/maps lines: at most +200. V8 grows its heap in 256 KiB reservations, one line
//   each (measured +1 to +101 lines); a leaked mapping per cycle would add 90,000.
// Runtime, measured here: 2 to 20 s per loop (mutex 2 s, sysv-mq 5 s, mapped-file 6 s, sysv-sem
// 6 s, shm 10 s, semaphore 11 s, wait 11 s, receive-timeout 17 s, posix-mq 20 s), about 90 s one
// after another and 60 s for the file with two loops at a time: every loop runs its full 100,000.
import * as fs from 'node:fs';
import { PosixMessageQueue } from '../../lib';
import { runNode, uniqueName } from '../helpers';

const CYCLES = 100000;
const WARMUP = 10000;
const MiB = 1024 * 1024;
const RSS_BOUND = 48 * MiB;
const RSS_TAIL_BOUND = 16 * MiB;
const HEAP_BOUND = 4 * MiB;
const MAPS_BOUND = 200;
const PARALLEL = 2;
const LOOP_TIMEOUT = 280000;

interface Snapshot {
  fds: number;
  maps: number;
  fileMaps: number;
  objectMaps: number;
  threads: number;
  rss: number;
  heapUsed: number;
}
interface Report {
  kind: string;
  cycles: number;
  ms: number;
  base: Snapshot;
  start: Snapshot;
  end: Snapshot;
  final: Snapshot;
  peakRss: number;
  checkpoints: number[];
  extra: Record<string, number>;
  names: string[];
  sysvLeft: { msg: string[]; sem: string[]; shm: string[] };
}

// System V objects in the kernel now with key 0 (private), mode `mode` and created since `since`
// (seconds): what a loop made, told apart from other loops' and other test runs' by its mode.
function sysvLeft(mode: number, since: number): { msg: string[]; sem: string[]; shm: string[] } {
  const read = (kind: 'msg' | 'sem' | 'shm', ctimeColumn: number) =>
    fs
      .readFileSync(`/proc/sysvipc/${kind}`, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f.length > ctimeColumn && f[0] === '0' && parseInt(f[2], 8) === mode && Number(f[ctimeColumn]) >= since)
      .map((f) => f[1]);
  // /proc/sysvipc/msg: key msqid perms cbytes qnum lspid lrpid uid gid cuid cgid stime rtime ctime
  // /proc/sysvipc/sem: key semid perms nsems uid gid cuid cgid otime ctime
  // /proc/sysvipc/shm: key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime ...
  return { msg: read('msg', 13), sem: read('sem', 9), shm: read('shm', 13) };
}

// At most PARALLEL loops at once: two cores, shared.
let running = 0;
const queued: (() => void)[] = [];
async function slot<T>(job: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((resolve) => queued.push(resolve));
  running++;
  try {
    return await job();
  } finally {
    running--;
    queued.shift()?.();
  }
}

const reports = new Map<string, Promise<Report>>();
function loop(kind: string, cycles = CYCLES): Promise<Report> {
  let report = reports.get(kind);
  if (report === undefined) {
    // Owner read/write, plus a pattern in the other bits that no other loop (nor, likely, any
    // other test) uses: 0o601, 0o602, ...
    const mode = 0o600 | ((reports.size + 1) & 0o77);
    report = slot(async () => {
      const tag = uniqueName(`leak-${kind}`).slice(1);
      const since = Math.floor(Date.now() / 1000) - 1;
      const result = await runNode('leak-loop.js', [kind, String(cycles), String(WARMUP), tag, mode.toString(8)], {
        nodeArgs: ['--expose-gc'],
        timeout: LOOP_TIMEOUT,
      });
      if (result.code !== 0) throw new Error(`leak loop ${kind} failed (${result.code ?? result.signal}): ${result.stdout}${result.stderr}`);
      const parsed = JSON.parse(result.stdout) as Omit<Report, 'sysvLeft'>;
      return { ...parsed, sysvLeft: sysvLeft(mode, since) };
    });
    reports.set(kind, report);
  }
  return report;
}

const mb = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
// The RSS checkpoint taken after `cycle` cycles (the loop takes one every 10,000 after the warm-up).
const rssAt = (r: Report, cycle: number) => r.checkpoints[(cycle - WARMUP) / 10000 - 1];
const TAIL = 40000;

function print(r: Report): void {
  const rssTail = r.cycles === CYCLES ? r.end.rss - rssAt(r, CYCLES - TAIL) : NaN;
  console.log(
    [
      `${r.kind}: ${r.cycles} cycles in ${(r.ms / 1000).toFixed(1)} s (${((r.ms * 1000) / r.cycles).toFixed(0)} us per cycle)`,
      `  descriptors ${r.base.fds} before, ${r.start.fds} after warm-up, ${r.end.fds} at the end, ${r.final.fds} after teardown`,
      `  maps lines ${r.start.maps} -> ${r.end.maps} (file-backed ${r.start.fileMaps} -> ${r.end.fileMaps}, ipckit objects ${r.start.objectMaps} -> ${r.end.objectMaps}, ${r.final.objectMaps} after teardown)`,
      `  threads ${r.base.threads} before, ${r.start.threads} -> ${r.end.threads}`,
      `  RSS ${mb(r.start.rss)} -> ${mb(r.end.rss)} (${r.end.rss >= r.start.rss ? '+' : ''}${mb(r.end.rss - r.start.rss)}; last 40,000 cycles ${Number.isNaN(rssTail) ? 'n/a' : mb(rssTail)}; peak ${mb(r.peakRss)}); every 10,000: ${r.checkpoints.map((c) => (c / MiB).toFixed(1)).join(' ')}`,
      `  V8 heap used ${mb(r.start.heapUsed)} -> ${mb(r.end.heapUsed)}`,
      ...(Object.keys(r.extra).length > 0 ? [`  ${JSON.stringify(r.extra)}`] : []),
    ].join('\n'),
  );
}

// Under scripts/sanitize.sh (libasan preloaded) the loops still run, for the memory errors ASan
// catches, but memory figures measure ASan itself: freed blocks wait in its quarantine and its
// shadow pages grow with the heap (seen: +310 MiB of RSS). Descriptors, mappings of ipckit's
// objects, threads and leftovers are still checked exactly.
const sanitized = /libasan/.test(process.env.LD_PRELOAD ?? '');

function expectNoLeak(r: Report): void {
  print(r);
  if (sanitized) console.log(`${r.kind}: RSS, total maps and V8 heap bounds not checked under AddressSanitizer`);
  expect({ fds: r.end.fds, fileMaps: r.end.fileMaps, objectMaps: r.end.objectMaps }).toEqual({
    fds: r.start.fds,
    fileMaps: r.start.fileMaps,
    objectMaps: r.start.objectMaps,
  });
  expect({ fds: r.final.fds, objectMaps: r.final.objectMaps }).toEqual({ fds: r.base.fds, objectMaps: r.base.objectMaps });
  // Waiter threads linger 2 s when idle, so how many are alive at a snapshot depends on how many
  // waits overlapped just before it (and on how long the kernel or the watchdog took to end them).
  // A leak grows with the cycles; this bounds the threads by the most waits one batch keeps
  // pending (64) plus the pool's watchdog, whatever the count after warm-up happened to be.
  expect(r.end.threads).toBeLessThanOrEqual(Math.max(r.start.threads, r.base.threads + 64 + 1));
  if (!sanitized) {
    expect(r.end.maps - r.start.maps).toBeLessThanOrEqual(MAPS_BOUND);
    expect(r.end.rss - r.start.rss).toBeLessThanOrEqual(RSS_BOUND);
    expect(r.end.rss - rssAt(r, CYCLES - TAIL)).toBeLessThanOrEqual(RSS_TAIL_BOUND);
    expect(r.end.heapUsed - r.start.heapUsed).toBeLessThanOrEqual(HEAP_BOUND);
  }
  // Nothing left behind under any name the loop used, nor any System V object it made.
  const shmLeft = fs.readdirSync('/dev/shm').filter((n) => r.names.some((name) => n === name.slice(1) || n === `sem.${name.slice(1)}`));
  expect(shmLeft).toEqual([]);
  expect(r.sysvLeft).toEqual({ msg: [], sem: [], shm: [] });
}

const posixQueueGone = (name: string) => {
  try {
    PosixMessageQueue.open(name).close();
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
};

describe(`${CYCLES} cycles per primitive, measured after ${WARMUP} of warm-up`, () => {
  test.concurrent(
    'SharedMemory create / write / close / unlink',
    async () => {
      expectNoLeak(await loop('shm'));
    },
    LOOP_TIMEOUT + 60000,
  );

  test.concurrent(
    'MappedFile open / write / close',
    async () => {
      expectNoLeak(await loop('mapped-file'));
    },
    LOOP_TIMEOUT + 60000,
  );

  test.concurrent(
    'SysVMessageQueue createPrivate / send / receive / remove / close',
    async () => {
      expectNoLeak(await loop('sysv-mq'));
    },
    LOOP_TIMEOUT + 60000,
  );

  test.concurrent(
    'PosixMessageQueue create / send / receive / close / unlink',
    async () => {
      const r = await loop('posix-mq');
      expectNoLeak(r);
      expect(r.names.filter((name) => !posixQueueGone(name))).toEqual([]);
    },
    LOOP_TIMEOUT + 60000,
  );

  test.concurrent(
    'Semaphore create / post / wait / close / unlink',
    async () => {
      expectNoLeak(await loop('semaphore'));
    },
    LOOP_TIMEOUT + 60000,
  );

  test.concurrent(
    'SysVSemaphoreSet createPrivate / op (with and without undo) / remove / close',
    async () => {
      expectNoLeak(await loop('sysv-sem'));
    },
    LOOP_TIMEOUT + 60000,
  );

  test.concurrent(
    'SysVSharedMemory createPrivate / attach by id / write / read / remove / close',
    async () => {
      expectNoLeak(await loop('sysv-shm'));
    },
    LOOP_TIMEOUT + 60000,
  );

  test.concurrent(
    'Mutex create / lock (lock, lockSync, tryLock) / unlock, a new mapping every 1000 cycles',
    async () => {
      const r = await loop('mutex');
      expectNoLeak(r);
      expect(r.extra.closedWhileHeld).toBe(CYCLES / 1000);
    },
    LOOP_TIMEOUT + 60000,
  );

  test.concurrent(
    'waitAsync that times out, is aborted, or is woken (64 at a time)',
    async () => {
      const r = await loop('wait-async');
      expectNoLeak(r);
      // By turns of 64: a third time out, a third are aborted, a third are woken (or see the word
      // changed, when the wake came before the waiter thread slept).
      const turns = [0, 0, 0];
      for (let i = 0; i < CYCLES; i++) turns[Math.floor(i / 64) % 3]++;
      expect(r.extra).toMatchObject({ timedOut: turns[0], aborted: turns[1] });
      expect(r.extra.woken + r.extra.notEqual).toBe(turns[2]);
    },
    LOOP_TIMEOUT + 60000,
  );

  test.concurrent(
    'receive() whose timeout fires, on 32 System V and 32 POSIX queues (64 at a time)',
    async () => {
      const r = await loop('receive-timeout');
      expectNoLeak(r);
      expect(r.extra.timedOut).toBe(CYCLES);
      expect(r.names.filter((name) => !posixQueueGone(name))).toEqual([]);
    },
    LOOP_TIMEOUT + 60000,
  );
});

// A loop that cannot fail proves nothing: the same checks on a loop that does leak.
test(
  'control: a loop that keeps every 1000th SharedMemory handle open and 200 bytes of JavaScript per cycle is caught',
  async () => {
    const r = await loop('shm-leaky-control', 40000);
    print(r);
    const kept = 30; // cycles 10,999 ... 39,999
    expect(r.end.fds - r.start.fds).toBe(kept);
    expect(r.end.objectMaps - r.start.objectMaps).toBe(kept);
    expect(r.end.heapUsed - r.start.heapUsed).toBeGreaterThan(HEAP_BOUND);
    expect({ fds: r.final.fds, objectMaps: r.final.objectMaps }).toEqual({ fds: r.base.fds, objectMaps: r.base.objectMaps });
  },
  LOOP_TIMEOUT + 60000,
);

// Known defect #14 (being fixed elsewhere): closing memory while a Mutex in it is held keeps the
// descriptor open until the unlock. The mapping must stay until then (the kernel needs it to mark
// the mutex owner-died), the descriptor need not. The mutex loop counts, at each of its 100
// close-while-held cycles, whether close() released the descriptor.
test(
  'closing memory while a Mutex in it is held releases the descriptor at close(), not at unlock (the mutex loop)',
  async () => {
    const r = await loop('mutex');
    expect({ closedWhileHeld: r.extra.closedWhileHeld, fdKeptUntilUnlock: r.extra.fdKeptUntilUnlock }).toEqual({
      closedWhileHeld: CYCLES / 1000,
      fdKeptUntilUnlock: 0,
    });
  },
  LOOP_TIMEOUT + 60000,
);

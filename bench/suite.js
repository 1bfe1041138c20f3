#!/usr/bin/env node
// ipckit's benchmark suite (`npm run bench`): the Channel, the message queues, Node's own IPC
// (child_process, net over a Unix socket, worker_threads) and C baselines measured in the same
// run, pinned with taskset. Writes bench/results/latest.{md,svg,json} and prints the tables.
//
//   node bench/suite.js [--quick]
//
// Environment:
//   BENCH_QUICK=1      as --quick: sizes 64 B and 64 KiB, 2 repetitions, short samples, no calibration
//   BENCH_REPS=N       repetitions of every cell (default 5; quick 2); a cell's figure is their median
//   BENCH_SECONDS=S    the length one sample aims at (default 0.3; quick 0.03)
//   BENCH_SIZES=a,b    message sizes in bytes (default 64,4096,65536,1048576)
//   BENCH_SPIN=US      the spin of the spinning rows, Node and C alike (default 50)
//   BENCH_OUT=DIR      where the results go (default bench/results)
//
// Method. A cell is one (row, size, placement). Each repetition runs every cell once, in turn
// (round-robin), so slow drifts of a shared machine spread over all cells instead of landing on
// one; a cell's figure is the median of its repetitions, shown with their min-max. Every sample
// starts fresh processes and fresh IPC objects. Before the repetitions, one calibration pass (not
// reported) sizes each cell's count so that a sample lasts about BENCH_SECONDS; every repetition of
// a cell then moves the same count.
//   stream      one sender process, one receiver process; the receiver's clock runs from its first
//               message to its last: messages/s, and MB/s (10^6 bytes) of payload
//   round trip  one message in flight: ping sends SIZE bytes, pong echoes them, ping waits for the
//               echo; per trip latency after untimed warm-up trips: median and p99 in microseconds
// Placement: "same CPU" pins both processes to CPU 0 (taskset -c 0); "2 CPUs" pins the sender/ping
// to CPU 0 and the receiver/pong to CPU 1. child_process: the parent runs under taskset, the child
// is moved with taskset -p. worker_threads: one process, pinned to CPU 0 or to CPUs 0,1 (its
// threads are not pinned apart). memcpy: one thread on CPU 0.
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const ipckit = require('..');

const { Channel, SharedMemory, SysVMessageQueue, PosixMessageQueue } = ipckit;

// ---- settings ----

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const envNumber = (name, fallback) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not ${raw}`);
  return value;
};
const REPS = Math.round(envNumber('BENCH_REPS', quick ? 2 : 5));
const SECONDS = envNumber('BENCH_SECONDS', quick ? 0.03 : 0.3);
const SPIN = Math.round(envNumber('BENCH_SPIN', 50));
const SIZES = process.env.BENCH_SIZES ? process.env.BENCH_SIZES.split(',').map(Number) : quick ? [64, 65536] : [64, 4096, 65536, 1 << 20];
const OUT = path.resolve(process.env.BENCH_OUT || path.join(__dirname, 'results'));
const CALIBRATE = !quick;
const PROCESS_TIMEOUT_MS = 60_000;

const readLimit = (file) => {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
};
const MSGMAX = readLimit('/proc/sys/kernel/msgmax');
const MQ_MSGSIZE_MAX = readLimit('/proc/sys/fs/mqueue/msgsize_max');

// ---- C programs, compiled now ----

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ipckit-suite-'));
const include = path.join(__dirname, '..', 'native', 'include');
const C = {};
for (const program of ['channel_c', 'futex_c', 'memcpy_c', 'unix_c', 'queues_c']) {
  C[program] = path.join(work, program);
  execFileSync('cc', ['-O2', '-D_GNU_SOURCE', '-I', include, '-I', __dirname, '-o', C[program], path.join(__dirname, `${program}.c`), '-lrt']);
}
const NODE = process.execPath;
const W = {
  channel: path.join(__dirname, 'channel-worker.js'),
  queue: path.join(__dirname, 'queue-worker.js'),
  net: path.join(__dirname, 'net-worker.js'),
  cp: path.join(__dirname, 'cp-worker.js'),
  wt: path.join(__dirname, 'wt-worker.js'),
};

// ---- IPC objects: unique names with the pid, removed after every sample and at exit ----

let serial = 0;
const live = new Map(); // name -> remover
const track = (name, remove) => live.set(name, remove);
function drop(name) {
  const remove = live.get(name);
  live.delete(name);
  try {
    remove?.();
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
}
function cleanup() {
  for (const name of [...live.keys()]) {
    try {
      drop(name);
    } catch {
      // at exit: keep removing the rest
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}
const freshName = (tag) => `/ipckit-bench-${process.pid}-${tag}-${++serial}`;
const capacityFor = (size) => Math.max(1 << 20, 4 * size);

function makeChannels(size, suffixes) {
  const name = freshName('ch');
  for (const suffix of suffixes) {
    Channel.create(name + suffix, { capacity: capacityFor(size) }).close();
    track(name + suffix, () => Channel.unlink(name + suffix));
  }
  return { name, drop: () => suffixes.forEach((s) => drop(name + s)) };
}

function makeQueue(kind) {
  if (kind === 'sysv') {
    for (;;) {
      const key = 0x1e000000 + ((process.pid & 0xfff) << 12) + (++serial & 0xfff);
      let q;
      try {
        q = SysVMessageQueue.create(key);
      } catch (error) {
        if (error.code === 'EEXIST') continue;
        throw error;
      }
      const id = `sysv:${key}`;
      track(id, () => {
        q.remove();
        q.close();
      });
      return { target: String(key), drop: () => drop(id) };
    }
  }
  const name = freshName('mq');
  const names = [name, `${name}-r`];
  for (const n of names) {
    const q = PosixMessageQueue.create(n, { maxMessages: 10, messageSize: 8192 });
    track(n, () => {
      q.close();
      PosixMessageQueue.unlink(n);
    });
  }
  return { target: name, drop: () => names.forEach(drop) };
}

// ---- running pinned processes ----

function run(cpus, argv, env) {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', cpus, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop();
      if (code !== 0)
        return reject(new Error(`taskset -c ${cpus} ${argv.map((a) => path.basename(String(a))).join(' ')}: ${code ?? signal}\n${err}`));
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${argv.join(' ')} printed ${JSON.stringify(out)}`));
      }
    });
  });
}

/** Runs a sender and a receiver (or ping and pong) together; resolves with the one that measures. */
async function pair(place, first, second, env, measured = 'second') {
  const [a, b] = await Promise.all([run(place.a, first, env), run(place.b, second, env)]);
  return measured === 'first' ? a : b;
}

const PLACES = {
  same: { key: 'same', label: 'same CPU', a: '0', b: '0', both: '0' },
  two: { key: 'two', label: '2 CPUs', a: '0', b: '1', both: '0,1' },
  one: { key: 'one', label: 'CPU 0, one thread', a: '0', b: '0', both: '0' },
};

// ---- the rows ----

const s = String;
const kernelLimit = (kind) =>
  kind === 'sysv'
    ? { max: MSGMAX ?? 8192, why: `n/a (kernel limit msgmax ${MSGMAX ?? 8192})` }
    : { max: MQ_MSGSIZE_MAX ?? 8192, why: `n/a (kernel limit mq msgsize_max ${MQ_MSGSIZE_MAX ?? 8192})` };

// Stream rows: run(size, place, count) resolves with { count, seconds } from the receiver.
const chStream = (sender, receiver) => async (size, place, count) => {
  const ch = makeChannels(size, ['']);
  try {
    return await pair(place, sender(ch.name, size, count), receiver(ch.name, size, count));
  } finally {
    ch.drop();
  }
};
const nodeSend = (name, size, count) => [NODE, W.channel, 'send', name, s(size), s(count), '0', 'trysend'];
const nodeRecv = (api) => (name, size, count) => [NODE, W.channel, 'recv', name, s(size), s(count), '0', api];
const cSend = (name, size, count) => [C.channel_c, 'send', name, s(size), s(count), '0'];
const cRecv = (name, size, count) => [C.channel_c, 'recv', name, s(size), s(count), '0'];

const queueStream = (kind, impl) => async (size, place, count) => {
  const q = makeQueue(kind);
  const cmd = (mode) =>
    impl === 'node' ? [NODE, W.queue, mode, kind, q.target, s(size), s(count)] : [C.queues_c, mode, kind, q.target, s(size), s(count)];
  try {
    return await pair(place, cmd('send'), cmd('recv'), { SPIN: '0' });
  } finally {
    q.drop();
  }
};

const socketPath = () => path.join(work, `s${++serial}.sock`);
const netStream = (impl) => async (size, place, count) => {
  const p = socketPath();
  const cmd = (mode) => (impl === 'node' ? [NODE, W.net, mode, p, s(size), s(count)] : [C.unix_c, mode, p, s(size), s(count)]);
  try {
    return await pair(place, cmd('send'), cmd('recv'));
  } finally {
    fs.rmSync(p, { force: true });
  }
};

const STREAM_ROWS = [
  {
    id: 'ch-nn-batch',
    transport: 'ipckit Channel',
    ends: 'Node → Node',
    api: 'trySend (await send when full) → tryReceiveBatch(256) (await receiveBatch when empty), copies',
    baseline: 'ch-cc',
    run: chStream(nodeSend, nodeRecv('batch')),
  },
  {
    id: 'ch-nn-view',
    transport: 'ipckit Channel',
    ends: 'Node → Node',
    api: 'trySend (await send when full) → tryReceiveView + release (zero-copy, first byte read)',
    baseline: 'ch-cc',
    run: chStream(nodeSend, nodeRecv('view')),
  },
  {
    id: 'ch-nc',
    transport: 'ipckit Channel',
    ends: 'Node → C',
    api: 'trySend (await send when full) → ipckit_channel_receive (copy)',
    baseline: 'ch-cc',
    run: chStream(nodeSend, cRecv),
  },
  {
    id: 'ch-cn',
    transport: 'ipckit Channel',
    ends: 'C → Node',
    api: 'ipckit_channel_send → tryReceiveBatch(256) (await receiveBatch when empty)',
    baseline: 'ch-cc',
    run: chStream(cSend, nodeRecv('batch')),
  },
  {
    id: 'ch-cc',
    transport: 'channel.h ring (C)',
    ends: 'C → C',
    api: 'ipckit_channel_send → ipckit_channel_receive (copy)',
    run: chStream(cSend, cRecv),
  },
  {
    id: 'sysv-n',
    transport: 'ipckit SysVMessageQueue',
    ends: 'Node → Node',
    api: 'await send → await receive (spin 0)',
    baseline: 'sysv-c',
    limit: kernelLimit('sysv'),
    run: queueStream('sysv', 'node'),
  },
  {
    id: 'sysv-c',
    transport: 'System V queue (C)',
    ends: 'C → C',
    api: 'blocking msgsnd → msgrcv',
    limit: kernelLimit('sysv'),
    run: queueStream('sysv', 'c'),
  },
  {
    id: 'posix-n',
    transport: 'ipckit PosixMessageQueue',
    ends: 'Node → Node',
    api: 'await send → await receive (spin 0)',
    baseline: 'posix-c',
    limit: kernelLimit('posix'),
    run: queueStream('posix', 'node'),
  },
  {
    id: 'posix-c',
    transport: 'POSIX queue (C)',
    ends: 'C → C',
    api: 'blocking mq_send → mq_receive',
    limit: kernelLimit('posix'),
    run: queueStream('posix', 'c'),
  },
  {
    id: 'cp',
    transport: 'child_process IPC',
    ends: 'Node → Node (fork)',
    api: "process.send, serialization 'advanced', window of max(1 MiB, 4×size) bytes",
    baseline: 'unix-c',
    run: (size, place, count) => run(place.a, [NODE, W.cp, 'stream', s(size), s(count), place.b]),
  },
  {
    id: 'net',
    transport: 'net, Unix socket',
    ends: 'Node → Node',
    api: '4-byte length + payload (corked write, await drain) → parser, one Buffer per message',
    baseline: 'unix-c',
    run: netStream('node'),
  },
  {
    id: 'unix-c',
    transport: 'Unix socket (C)',
    ends: 'C → C',
    api: 'writev(length, payload) → read, copy each payload out',
    run: netStream('c'),
  },
  {
    id: 'wt',
    transport: 'worker_threads (in-process)',
    ends: 'thread → thread',
    api: 'postMessage (structured clone), window of max(1 MiB, 4×size) bytes',
    baseline: 'ch-cc',
    run: (size, place, count) => run(place.both, [NODE, W.wt, 'stream', s(size), s(count)]),
  },
  {
    id: 'memcpy',
    transport: 'memcpy (C)',
    ends: 'one thread',
    api: 'memcpy into a reused buffer',
    places: ['one'],
    fixedTime: true,
    run: (size, place) => run(place.a, [C.memcpy_c, s(size), s(SECONDS)]),
  },
];

// Round-trip rows: run(size, place, count, warmup) resolves with { median, p99 } from ping.
const chTrip = (ping, pong) => async (size, place, count, warmup) => {
  const ch = makeChannels(size, ['-a', '-b']);
  try {
    return await pair(place, ping(ch.name, size, count, warmup), pong(ch.name, size, count, warmup), undefined, 'first');
  } finally {
    ch.drop();
  }
};
const nodeTrip = (mode, how, spin) => (name, size, count, warmup) => [NODE, W.channel, mode, name, s(size), s(count), s(spin), how, s(warmup)];
const cTrip = (mode, spin) => (name, size, count, warmup) => [C.channel_c, mode, name, s(size), s(count), s(spin), s(warmup)];

const futexTrip = (spin) => async (size, place, count, warmup) => {
  const name = freshName('futex');
  SharedMemory.create(name, { size: 4096 }).close();
  track(name, () => SharedMemory.unlink(name));
  const cmd = (mode) => [C.futex_c, mode, name, s(count), s(spin), s(warmup)];
  try {
    return await pair(place, cmd('ping'), cmd('pong'), undefined, 'first');
  } finally {
    drop(name);
  }
};
const queueTrip = (kind, impl) => async (size, place, count, warmup) => {
  const q = makeQueue(kind);
  const cmd = (mode) =>
    impl === 'node' ? [NODE, W.queue, mode, kind, q.target, s(size), s(count)] : [C.queues_c, mode, kind, q.target, s(size), s(count)];
  try {
    return await pair(place, cmd('ping'), cmd('pong'), { SPIN: '0', WARMUP: s(warmup) }, 'first');
  } finally {
    q.drop();
  }
};
const netTrip = (impl) => async (size, place, count, warmup) => {
  const p = socketPath();
  const cmd = (mode) => (impl === 'node' ? [NODE, W.net, mode, p, s(size), s(count), s(warmup)] : [C.unix_c, mode, p, s(size), s(count), s(warmup)]);
  try {
    // pong listens, ping connects (retrying until pong listens)
    return await pair(place, cmd('ping'), cmd('pong'), undefined, 'first');
  } finally {
    fs.rmSync(p, { force: true });
  }
};

const TRIP_ROWS = [
  {
    id: 'ch-nn-sync',
    transport: 'ipckit Channel',
    ends: 'Node ⇄ Node',
    api: 'sendSync / receiveSync',
    baseline: 'ch-cc',
    run: chTrip(nodeTrip('ping', 'sync', 0), nodeTrip('pong', 'sync', 0)),
  },
  {
    id: 'ch-nn-promise',
    transport: 'ipckit Channel',
    ends: 'Node ⇄ Node',
    api: 'await send / await receive',
    baseline: 'ch-cc',
    run: chTrip(nodeTrip('ping', 'promise', 0), nodeTrip('pong', 'promise', 0)),
  },
  {
    id: 'ch-nn-sync-spin',
    transport: 'ipckit Channel',
    ends: 'Node ⇄ Node',
    api: `sendSync / receiveSync, spin ${SPIN} µs`,
    baseline: 'ch-cc-spin',
    run: chTrip(nodeTrip('ping', 'sync', SPIN), nodeTrip('pong', 'sync', SPIN)),
  },
  {
    id: 'ch-nn-promise-spin',
    transport: 'ipckit Channel',
    ends: 'Node ⇄ Node',
    api: `await send / await receive, spin ${SPIN} µs`,
    baseline: 'ch-cc-spin',
    run: chTrip(nodeTrip('ping', 'promise', SPIN), nodeTrip('pong', 'promise', SPIN)),
  },
  {
    id: 'ch-nc-sync',
    transport: 'ipckit Channel',
    ends: 'Node ⇄ C (C echoes)',
    api: 'sendSync / receiveSync; C blocking',
    baseline: 'ch-cc',
    run: chTrip(nodeTrip('ping', 'sync', 0), cTrip('pong', 0)),
  },
  {
    id: 'ch-nc-promise',
    transport: 'ipckit Channel',
    ends: 'Node ⇄ C (C echoes)',
    api: 'await send / await receive; C blocking',
    baseline: 'ch-cc',
    run: chTrip(nodeTrip('ping', 'promise', 0), cTrip('pong', 0)),
  },
  {
    id: 'ch-nc-sync-spin',
    transport: 'ipckit Channel',
    ends: 'Node ⇄ C (C echoes)',
    api: `sendSync / receiveSync, spin ${SPIN} µs; C set_spin ${SPIN}`,
    baseline: 'ch-cc-spin',
    run: chTrip(nodeTrip('ping', 'sync', SPIN), cTrip('pong', SPIN)),
  },
  {
    id: 'ch-cc',
    transport: 'channel.h ring (C)',
    ends: 'C ⇄ C',
    api: 'ipckit_channel_send / receive (blocking)',
    run: chTrip(cTrip('ping', 0), cTrip('pong', 0)),
  },
  {
    id: 'ch-cc-spin',
    transport: 'channel.h ring (C)',
    ends: 'C ⇄ C',
    api: `ipckit_channel_send / receive, set_spin ${SPIN}`,
    run: chTrip(cTrip('ping', SPIN), cTrip('pong', SPIN)),
  },
  {
    id: 'futex',
    transport: 'futex ping-pong (C)',
    ends: 'C ⇄ C',
    api: 'FUTEX_WAIT / FUTEX_WAKE (no payload)',
    run: futexTrip(0),
  },
  {
    id: 'futex-spin',
    transport: 'futex ping-pong (C)',
    ends: 'C ⇄ C',
    api: `spin ${SPIN} µs, then FUTEX_WAIT (no payload)`,
    run: futexTrip(SPIN),
  },
  {
    id: 'sysv-n',
    transport: 'ipckit SysVMessageQueue',
    ends: 'Node ⇄ Node',
    api: 'await send / await receive (spin 0)',
    baseline: 'sysv-c',
    limit: kernelLimit('sysv'),
    run: queueTrip('sysv', 'node'),
  },
  {
    id: 'sysv-c',
    transport: 'System V queue (C)',
    ends: 'C ⇄ C',
    api: 'blocking msgsnd / msgrcv',
    limit: kernelLimit('sysv'),
    run: queueTrip('sysv', 'c'),
  },
  {
    id: 'posix-n',
    transport: 'ipckit PosixMessageQueue',
    ends: 'Node ⇄ Node',
    api: 'await send / await receive (spin 0)',
    baseline: 'posix-c',
    limit: kernelLimit('posix'),
    run: queueTrip('posix', 'node'),
  },
  {
    id: 'posix-c',
    transport: 'POSIX queue (C)',
    ends: 'C ⇄ C',
    api: 'blocking mq_send / mq_receive',
    limit: kernelLimit('posix'),
    run: queueTrip('posix', 'c'),
  },
  {
    id: 'cp',
    transport: 'child_process IPC',
    ends: 'Node ⇄ Node (fork)',
    api: "process.send / 'message', serialization 'advanced'",
    baseline: 'unix-c',
    run: (size, place, count, warmup) => run(place.a, [NODE, W.cp, 'rtt', s(size), s(count), place.b, s(warmup)]),
  },
  {
    id: 'net',
    transport: 'net, Unix socket',
    ends: 'Node ⇄ Node',
    api: '4-byte length + payload, await the echo',
    baseline: 'unix-c',
    run: netTrip('node'),
  },
  {
    id: 'unix-c',
    transport: 'Unix socket (C)',
    ends: 'C ⇄ C',
    api: 'writev / read (blocking)',
    run: netTrip('c'),
  },
  {
    id: 'wt',
    transport: 'worker_threads (in-process)',
    ends: 'thread ⇄ thread',
    api: 'postMessage / message event (structured clone)',
    baseline: 'ch-cc',
    run: (size, place, count, warmup) => run(place.both, [NODE, W.wt, 'rtt', s(size), s(count), s(warmup)]),
  },
];

// ---- cells ----

const hasChannel = typeof Channel === 'function';
const cells = [];
for (const [kind, rows] of [
  ['stream', STREAM_ROWS],
  ['trip', TRIP_ROWS],
]) {
  for (const row of rows) {
    for (const size of SIZES) {
      for (const placeKey of row.places ?? ['same', 'two']) {
        const cell = { kind, row, size, place: PLACES[placeKey], samples: [], na: undefined };
        if (row.limit && size > row.limit.max) cell.na = row.limit.why;
        else if (!hasChannel && (row.id.startsWith('ch-') || row.transport.includes('Channel'))) cell.na = 'n/a (no Channel in this build)';
        if (kind === 'stream')
          cell.count = quick
            ? Math.min(5000, Math.max(16, Math.floor((1 << 20) / size)))
            : Math.min(20000, Math.max(20, Math.floor((4 << 20) / size)));
        else cell.count = quick ? 100 : 200;
        cells.push(cell);
      }
    }
  }
}
const warmupFor = (count) => Math.min(1000, Math.max(10, Math.floor(count / 20)));

async function sample(cell) {
  if (cell.kind === 'stream') {
    const r = await cell.row.run(cell.size, cell.place, cell.count);
    return { rate: r.count / r.seconds, count: r.count, seconds: r.seconds };
  }
  const r = await cell.row.run(cell.size, cell.place, cell.count, warmupFor(cell.count));
  return { median: r.median, p99: r.p99, count: r.count };
}

function calibrate(cell, result) {
  if (cell.kind === 'stream') cell.count = Math.round(Math.min(50_000_000, Math.max(50, result.rate * SECONDS)));
  else cell.count = Math.round(Math.min(100_000, Math.max(200, SECONDS / (result.median / 1e6))));
}

// ---- statistics and formatting ----

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const n = v.length;
  return n % 2 ? v[n >> 1] : (v[n / 2 - 1] + v[n / 2]) / 2;
};
function summarize(cell) {
  if (cell.na || cell.samples.length === 0) return null;
  if (cell.kind === 'stream') {
    const rates = cell.samples.map((x) => x.rate);
    return { value: median(rates), min: Math.min(...rates), max: Math.max(...rates) };
  }
  const medians = cell.samples.map((x) => x.median);
  return { value: median(medians), min: Math.min(...medians), max: Math.max(...medians), p99: median(cell.samples.map((x) => x.p99)) };
}
const sig = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
const fmtRate = (r) => (r >= 1e6 ? `${sig(r / 1e6)} M` : r >= 1e3 ? `${sig(r / 1e3)} k` : sig(r));
const fmtUs = (us) => sig(us);
const fmtSize = (n) => (n >= 1 << 20 && n % (1 << 20) === 0 ? `${n >> 20} MiB` : n >= 1024 && n % 1024 === 0 ? `${n >> 10} KiB` : `${n} B`);
const fmtMB = (bytesPerSecond) => {
  const mb = bytesPerSecond / 1e6;
  return mb >= 100 ? Math.round(mb).toLocaleString('en-US') : sig(mb);
};

function findCell(kind, id, size, placeKey) {
  return cells.find((c) => c.kind === kind && c.row.id === id && c.size === size && c.place.key === placeKey);
}
function baselineOf(cell) {
  if (!cell.row.baseline) return null;
  const rows = cell.kind === 'stream' ? STREAM_ROWS : TRIP_ROWS;
  const row = rows.find((r) => r.id === cell.row.baseline);
  const place = row.places ? row.places[0] : cell.place.key;
  return findCell(cell.kind, row.id, cell.size, place);
}

function tableRows(kind) {
  const out = [];
  for (const cell of cells.filter((c) => c.kind === kind)) {
    const sum = summarize(cell);
    const base = baselineOf(cell);
    const baseSum = base ? summarize(base) : null;
    const head = [cell.row.transport, cell.row.ends, cell.row.api, fmtSize(cell.size), cell.place.label];
    let ratio = '—';
    const baseLabel = base ? `${base.row.transport}${base.row.id.endsWith('spin') ? `, spin ${SPIN}` : ''}` : '(baseline)';
    if (sum && baseSum) ratio = `${(sum.value / baseSum.value).toFixed(2)}×`;
    else if (sum && base) ratio = 'n/a';
    if (cell.na) {
      out.push([...head, cell.na, '—', '—', baseLabel, '—']);
    } else if (!sum) {
      out.push([...head, 'failed', '—', '—', baseLabel, '—']);
    } else if (kind === 'stream') {
      out.push([
        ...head,
        `${fmtRate(sum.value)} (${fmtRate(sum.min)}–${fmtRate(sum.max)})`,
        fmtMB(sum.value * cell.size),
        String(cell.samples.length),
        baseLabel,
        ratio,
      ]);
    } else {
      out.push([...head, `${fmtUs(sum.value)} (${fmtUs(sum.min)}–${fmtUs(sum.max)})`, fmtUs(sum.p99), String(cell.samples.length), baseLabel, ratio]);
    }
  }
  return out;
}

const STREAM_HEADER = ['transport', 'ends', 'API', 'size', 'placement', 'msgs/s median (min–max)', 'MB/s', 'reps', 'C baseline', 'Node ÷ C'];
const TRIP_HEADER = ['transport', 'ends', 'waits', 'size', 'placement', 'round trip µs median (min–max)', 'p99 µs', 'reps', 'C baseline', 'Node ÷ C'];
const markdown = (header, rows) =>
  [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map((v) => String(v).replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');

// ---- targets ----

function targets() {
  const val = (kind, id, size, place) => {
    const c = findCell(kind, id, size, place);
    return c ? summarize(c) : null;
  };
  const lines = [];
  const verdict = (ok) => (ok ? 'met' : 'not met');
  const missing = (what) => lines.push(`- ${what}: not measured in this run`);
  const best = (size) => {
    const a = val('stream', 'ch-nn-batch', size, 'two');
    const b = val('stream', 'ch-nn-view', size, 'two');
    if (!a && !b) return null;
    if (!b || (a && a.value >= b.value)) return { ...a, api: 'tryReceiveBatch' };
    return { ...b, api: 'tryReceiveView' };
  };
  const b64 = best(64);
  const net64 = val('stream', 'net', 64, 'two');
  if (b64) {
    lines.push(`- 64 B Node→Node stream (2 CPUs) ≥ 10 M msgs/s: ${fmtRate(b64.value)}/s (${b64.api}) — ${verdict(b64.value >= 10e6)}`);
    if (net64)
      lines.push(
        `- 64 B Node→Node ≥ 20× net: ${(b64.value / net64.value).toFixed(1)}× (net ${fmtRate(net64.value)}/s) — ${verdict(b64.value >= 20 * net64.value)}`,
      );
    else missing('64 B Node→Node ≥ 20× net');
  } else missing('64 B Node→Node stream ≥ 10 M msgs/s');
  for (const size of [65536, 1 << 20]) {
    const b = best(size);
    const ring = val('stream', 'ch-cc', size, 'two');
    if (b && ring) {
      const r = b.value / ring.value;
      const copy = val('stream', 'ch-nn-batch', size, 'two');
      const also =
        b.api === 'tryReceiveView' && copy
          ? `; copying with tryReceiveBatch: ${fmtMB(copy.value * size)} MB/s = ${(copy.value / ring.value).toFixed(2)}×`
          : '';
      lines.push(
        `- ${fmtSize(size)} Node→Node (2 CPUs) ≥ 0.5× the C ring: ${fmtMB(b.value * size)} MB/s (${b.api}) vs ${fmtMB(ring.value * size)} MB/s = ${r.toFixed(2)}× — ${verdict(r >= 0.5)}${also}`,
      );
    } else missing(`${fmtSize(size)} Node→Node ≥ 0.5× the C ring`);
  }
  const b1m = best(1 << 20);
  const mc = val('stream', 'memcpy', 1 << 20, 'one');
  if (b1m && mc) {
    const r = b1m.value / mc.value;
    lines.push(
      `- 1 MiB Node→Node ≥ 0.7× memcpy: ${fmtMB(b1m.value * (1 << 20))} MB/s vs ${fmtMB(mc.value * (1 << 20))} MB/s = ${r.toFixed(2)}× — ${verdict(r >= 0.7)}`,
    );
  } else missing('1 MiB Node→Node ≥ 0.7× memcpy');
  const futex = val('trip', 'futex', 64, 'same');
  for (const [id, limit, label] of [
    ['ch-nn-sync', 1.2, 'sync'],
    ['ch-nn-promise', 3, 'Promise'],
  ]) {
    const v = val('trip', id, 64, 'same');
    if (v && futex) {
      const r = v.value / futex.value;
      lines.push(
        `- 64 B round trip, same CPU, ${label} ≤ ${limit}× C futex ping-pong: ${fmtUs(v.value)} µs vs ${fmtUs(futex.value)} µs = ${r.toFixed(2)}× — ${verdict(r <= limit)}`,
      );
    } else missing(`64 B round trip, same CPU, ${label} ≤ ${limit}× C futex`);
  }
  const spin = val('trip', 'ch-nn-sync-spin', 64, 'two');
  if (spin)
    lines.push(
      `- 64 B round trip with spin ${SPIN} µs across CPUs (sendSync/receiveSync) < 1 µs: ${fmtUs(spin.value)} µs — ${verdict(spin.value < 1)}`,
    );
  else missing('spin round trip < 1 µs across CPUs');
  const spinP = val('trip', 'ch-nn-promise-spin', 64, 'two');
  if (spinP) lines.push(`  (with await send/receive and the same spin: ${fmtUs(spinP.value)} µs — ${verdict(spinP.value < 1)})`);
  return lines;
}

// ---- the SVG chart ----

const esc = (t) => String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
function chart() {
  const groups = [];
  for (const size of SIZES) {
    const bars = cells
      .filter((c) => c.kind === 'stream' && c.size === size && (c.place.key === 'two' || c.place.key === 'one'))
      .map((c) => ({ label: `${c.row.transport}, ${c.row.ends}${c.row.id === 'ch-nn-view' ? ' (view)' : ''}`, cell: c, v: summarize(c) }));
    groups.push({
      title: `Stream, ${fmtSize(size)}, 2 CPUs (memcpy: 1 thread): MB/s, log scale`,
      bars,
      value: (b) => b.v && b.v.value * size,
      unit: 'MB/s',
      scale: 1e-6,
    });
  }
  const tripBars = (place) =>
    cells
      .filter((c) => c.kind === 'trip' && c.size === 64 && c.place.key === place)
      .map((c) => ({ label: `${c.row.transport}, ${c.row.ends}: ${c.row.api}`, cell: c, v: summarize(c) }));
  for (const place of ['same', 'two']) {
    if (!SIZES.includes(64)) break;
    groups.push({
      title: `Round trip, 64 B, ${PLACES[place].label}: median µs, log scale (shorter is faster)`,
      bars: tripBars(place),
      value: (b) => b.v && b.v.value,
      unit: 'µs',
      scale: 1,
    });
  }
  const width = 1100;
  const labelW = 520;
  const barW = width - labelW - 130;
  const rowH = 16;
  let y = 40;
  const parts = [];
  parts.push(
    `<text x="10" y="22" font-size="15" font-weight="bold">ipckit benchmark suite — ${esc(machine.date)} — ${esc(machine.cpu)}, ${machine.cores} CPUs</text>`,
  );
  for (const g of groups) {
    const values = g.bars.map((b) => g.value(b)).filter((v) => v > 0);
    if (values.length === 0) continue;
    const lo = Math.floor(Math.log10(Math.min(...values) * g.scale));
    const hi = Math.ceil(Math.log10(Math.max(...values) * g.scale) + 1e-9);
    const span = Math.max(1, hi - lo);
    const xOf = (v) => labelW + (barW * (Math.log10(v * g.scale) - lo)) / span;
    y += 18;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(g.title)}</text>`);
    y += 6;
    const top = y;
    for (const b of g.bars) {
      const v = g.value(b);
      const isC = !b.cell.row.baseline && b.cell.row.transport.includes('(C)');
      parts.push(`<text x="${labelW - 6}" y="${y + 12}" font-size="11" text-anchor="end">${esc(b.label)}</text>`);
      if (v > 0) {
        const w = Math.max(1, xOf(v) - labelW);
        parts.push(
          `<rect x="${labelW}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="${isC ? '#8a8a8a' : b.cell.row.transport.startsWith('ipckit') ? '#2b6cb0' : '#d69e2e'}"/>`,
        );
        parts.push(
          `<text x="${(labelW + w + 4).toFixed(1)}" y="${y + 12}" font-size="11">${esc(g.unit === 'µs' ? fmtUs(v) : fmtMB(v))} ${g.unit}</text>`,
        );
      } else {
        parts.push(`<text x="${labelW + 4}" y="${y + 12}" font-size="11" fill="#888">${esc(b.cell.na ?? 'failed')}</text>`);
      }
      y += rowH;
    }
    for (let d = lo; d <= hi; d++) {
      const x = labelW + (barW * (d - lo)) / span;
      parts.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${y}" stroke="#ccc" stroke-width="0.5"/>`);
      parts.push(
        `<text x="${x.toFixed(1)}" y="${y + 11}" font-size="9" text-anchor="middle" fill="#666">${esc(fmtMB(10 ** d / (g.scale === 1 ? 1e6 : 1)))}</text>`,
      );
    }
    y += 16;
  }
  y += 10;
  parts.push(
    `<text x="10" y="${y}" font-size="10" fill="#444">Blue: ipckit from Node. Orange: Node's own IPC. Grey: C. Each bar: the median of ${REPS} interleaved repetitions; the tables in latest.md give min–max and p99.</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 14}" viewBox="0 0 ${width} ${y + 14}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}

// ---- machine ----

function describeMachine() {
  const cpus = os.cpus();
  let virtual = '';
  try {
    if (/^flags\s*:.*\bhypervisor\b/m.test(fs.readFileSync('/proc/cpuinfo', 'utf8'))) virtual = ' (virtual machine: the hypervisor flag is set)';
  } catch {
    // not Linux /proc
  }
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: cpus[0]?.model ?? 'unknown CPU',
    cores: cpus.length,
    virtual,
    kernel: `${os.type()} ${os.release()} ${os.machine?.() ?? process.arch}`,
    node: process.version,
    limits: `SysV msgmax ${MSGMAX ?? '?'}, POSIX mq msgsize_max ${MQ_MSGSIZE_MAX ?? '?'}`,
  };
}
const machine = describeMachine();

// ---- main ----

async function main() {
  const active = cells.filter((c) => !c.na);
  const say = (m) => process.stderr.write(`${m}\n`);
  say(
    `ipckit bench suite: ${active.length} cells (${cells.length - active.length} n/a), ${REPS} repetitions${CALIBRATE ? ' after one calibration pass' : ''}${quick ? ', quick' : ''}`,
  );
  const t0 = Date.now();
  const passes = CALIBRATE ? REPS + 1 : REPS;
  for (let pass = 0; pass < passes; pass++) {
    const calibrating = CALIBRATE && pass === 0;
    const passStart = Date.now();
    for (const cell of active) {
      if (calibrating && cell.row.fixedTime) continue;
      let result;
      try {
        result = await sample(cell);
      } catch (error) {
        cell.errors = (cell.errors ?? 0) + 1;
        say(`  ${cell.row.id} ${fmtSize(cell.size)} ${cell.place.label}: ${String(error.message).split('\n').slice(0, 3).join(' / ')}`);
        continue;
      }
      if (calibrating) calibrate(cell, result);
      else cell.samples.push(result);
    }
    say(`  ${calibrating ? 'calibration' : `repetition ${CALIBRATE ? pass : pass + 1}/${REPS}`}: ${((Date.now() - passStart) / 1000).toFixed(1)} s`);
  }
  const elapsed = (Date.now() - t0) / 1000;

  const heading = [
    `# ipckit benchmark suite`,
    '',
    `Run ${machine.date}: ${machine.cpu}, ${machine.cores} CPUs${machine.virtual}; ${machine.kernel}; Node ${machine.node}; ${machine.limits}.`,
    `${REPS} interleaved repetitions per cell${CALIBRATE ? ` (counts calibrated so a sample lasts about ${SECONDS} s)` : ` (quick mode: fixed small counts, samples of about ${SECONDS} s)`}; the figure is their median, (min–max) of the repetitions. Suite took ${elapsed.toFixed(0)} s.`,
    '',
    'Placement (taskset): **same CPU** = both processes on CPU 0; **2 CPUs** = sender / ping on CPU 0, receiver / pong on CPU 1. child_process: the parent under taskset, the child moved with `taskset -p`. worker_threads: one process pinned to CPU 0 (same CPU) or CPUs 0,1 (2 CPUs; the threads are not pinned apart). memcpy: one thread on CPU 0.',
    `Channel capacity: max(1 MiB, 4 × size) (1 MiB messages: 4 MiB). MB/s = 10^6 payload bytes per second. Node ÷ C: for streams, Node's rate over the C baseline's (higher is better); for round trips, Node's time over C's (lower is better), same size and placement.`,
  ];
  const streamTable = markdown(STREAM_HEADER, tableRows('stream'));
  const tripTable = markdown(TRIP_HEADER, tableRows('trip'));
  const targetLines = targets();
  const notes = [
    '- Streams: one sender process, one receiver process, a fixed count per cell; the receiver times its first to its last message.',
    "- Round trips: one message in flight, ping times each trip after untimed warm-up trips; the median and p99 are the medians over the repetitions of each sample's median and p99.",
    '- Queue rows: Node receives with `spin: 0` so that it blocks like the C side. A 4 KiB System V stream holds at most msgmnb / size messages in flight.',
    `- Spinning rows spin ${SPIN} µs on both sides (Node \`spin\` option, C \`ipckit_channel_set_spin\` or the same loop in the futex program). Spinning on the same CPU as the peer only delays it.`,
    "- The C futex ping-pong carries no payload: it is the floor of a wake-up round trip (the channel's protocol without the ring).",
  ];
  const failed = cells.filter((c) => c.errors);
  if (failed.length)
    notes.push(`- Failed samples: ${failed.map((c) => `${c.row.id} ${fmtSize(c.size)} ${c.place.label} (${c.errors})`).join('; ')}.`);
  const md = [
    ...heading,
    '',
    '## Streams',
    '',
    streamTable,
    '',
    '## Round trips',
    '',
    tripTable,
    '',
    "## Targets (the issue's, measured here)",
    '',
    ...targetLines,
    '',
    '## Notes',
    '',
    ...notes,
    '',
  ].join('\n');

  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'latest.md'), md);
  fs.writeFileSync(path.join(OUT, 'latest.svg'), chart());
  const raw = cells.map((c) => ({
    kind: c.kind,
    row: c.row.id,
    transport: c.row.transport,
    ends: c.row.ends,
    api: c.row.api,
    size: c.size,
    placement: c.place.label,
    na: c.na,
    count: c.count,
    samples: c.samples,
    summary: summarize(c),
  }));
  fs.writeFileSync(
    path.join(OUT, 'latest.json'),
    `${JSON.stringify({ machine, pid: process.pid, reps: REPS, seconds: SECONDS, spin: SPIN, quick, cells: raw }, null, 1)}\n`,
  );

  console.log(`Machine: ${machine.cpu}, ${machine.cores} CPUs${machine.virtual}; ${machine.kernel}; Node ${machine.node}; ${machine.limits}`);
  console.log(md.split('\n').slice(2).join('\n'));
  console.log(`Wrote ${path.join(OUT, 'latest.md')}, latest.svg and latest.json.`);
  if (failed.length) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

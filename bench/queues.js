#!/usr/bin/env node
// Message-queue benchmark: ipckit from Node next to the same operations in C (bench/queues_c.c),
// in the same run, with the same CPU placement (taskset). Prints a table; asserts nothing.
//
//   node bench/queues.js [--quick]
//
// Scenarios, for System V and POSIX queues, 64 B and 4 KiB messages:
//   non-waiting   one process: trySend until the queue is full, then tryReceive it empty (C: IPC_NOWAIT / O_NONBLOCK);
//                 then the same through await send() / await receive(), which the queue never makes wait
//   stream        one sender process, one receiver process: await send() / await receive() (C: blocking calls)
//   round trip    ping sends, pong answers, ping waits for the answer; median and p99 latency
// Placement: "1 CPU" pins every process to CPU 0; "2 CPUs" pins the sender/ping to CPU 0 and the
// receiver/pong to CPU 1 (a blocking wake-up across CPUs costs about 60 us on these VMs).
'use strict';
const { execFileSync } = require('node:child_process');
const { runPinned } = require('./pinned');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { SysVMessageQueue, PosixMessageQueue } = require('..');

const quick = process.argv.includes('--quick');
const N = { fill: quick ? 50_000 : 300_000, stream: quick ? 20_000 : 100_000, ping1: quick ? 5_000 : 20_000, ping2: quick ? 1_000 : 5_000 };

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ipckit-bench-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const cBinary = path.join(work, 'queues_c');
execFileSync('cc', ['-O2', '-o', cBinary, path.join(__dirname, 'queues_c.c'), '-lrt']);
const nodeWorker = path.join(__dirname, 'queue-worker.js');

const cmd = (impl, ...args) => (impl === 'node' ? [process.execPath, nodeWorker, ...args] : [cBinary, ...args]);

function makeQueues(kind) {
  if (kind === 'sysv') {
    const key = 0x1d000000 + (process.pid & 0xffff) * 16 + Math.floor(Math.random() * 16);
    const q = SysVMessageQueue.create(key);
    return {
      target: String(key),
      drop: () => {
        q.remove();
        q.close();
      },
    };
  }
  const name = `/ipckit-bench-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const opts = { maxMessages: 10, messageSize: 8192 };
  const a = PosixMessageQueue.create(name, opts);
  const b = PosixMessageQueue.create(`${name}-r`, opts);
  return {
    target: name,
    drop: () => {
      for (const q of [a, b]) {
        q.close();
        q.unlink();
      }
    },
  };
}

async function scenario(kind, size, impl) {
  const queues = makeQueues(kind);
  const t = queues.target;
  try {
    const fill = await runPinned(0, cmd(impl, 'fill-drain', kind, t, size, N.fill));
    // C has one API; Node's Promise API does the same work as C's calls when nothing waits.
    const promiseFill = await runPinned(
      0,
      cmd(impl === 'node' ? 'node' : 'c', impl === 'node' ? 'promise-fill-drain' : 'fill-drain', kind, t, size, N.fill),
    );
    const stream = {};
    const trip = {};
    for (const [label, recvCpu] of [
      ['1 CPU', 0],
      ['2 CPUs', 1],
    ]) {
      const [, received] = await Promise.all([
        runPinned(0, cmd(impl, 'send', kind, t, size, N.stream)),
        runPinned(recvCpu, cmd(impl, 'recv', kind, t, size, N.stream)),
      ]);
      stream[label] = received.count / received.seconds;
      const count = recvCpu === 0 ? N.ping1 : N.ping2;
      const [ping] = await Promise.all([
        runPinned(0, cmd(impl, 'ping', kind, t, size, count)),
        runPinned(recvCpu, cmd(impl, 'pong', kind, t, size, count)),
      ]);
      trip[label] = ping;
      if (kind === 'sysv' && impl === 'node') {
        // The same round trip with receives spinning 50 us (System V's default is 0).
        const env = { ...process.env, SPIN: '50' };
        const [spun] = await Promise.all([
          runPinned(0, cmd(impl, 'ping', kind, t, size, count), env),
          runPinned(recvCpu, cmd(impl, 'pong', kind, t, size, count), env),
        ]);
        trip[`${label}, spin 50`] = spun;
      }
    }
    return { fill: fill.count / fill.seconds, promiseFill: promiseFill.count / promiseFill.seconds, stream, trip };
  } finally {
    queues.drop();
  }
}

const fmtRate = (r) => (r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : `${(r / 1e3).toFixed(0)} k/s`);
const pad = (s, n) => String(s).padEnd(n);

async function main() {
  console.log(`ipckit queue benchmark: Node ${process.version}, ${os.cpus()[0].model}, ${os.cpus().length} CPUs${quick ? ' (quick)' : ''}`);
  console.log('Placement: taskset -c 0 for single-process runs and for both processes under "1 CPU"; CPUs 0 and 1 under "2 CPUs".\n');
  const rows = [];
  for (const kind of ['sysv', 'posix']) {
    for (const size of [64, 4096]) {
      const node = await scenario(kind, size, 'node');
      const c = await scenario(kind, size, 'c');
      const label = `${kind === 'sysv' ? 'System V' : 'POSIX'} ${size === 64 ? '64 B' : '4 KiB'}`;
      rows.push([label, 'non-waiting msgs/s (trySend/tryReceive)', fmtRate(node.fill), fmtRate(c.fill), (node.fill / c.fill).toFixed(2)]);
      rows.push([
        label,
        'same, through send()/receive() Promises',
        fmtRate(node.promiseFill),
        fmtRate(c.promiseFill),
        (node.promiseFill / c.promiseFill).toFixed(2),
      ]);
      for (const placement of ['1 CPU', '2 CPUs']) {
        rows.push([
          label,
          `stream msgs/s, ${placement}`,
          fmtRate(node.stream[placement]),
          fmtRate(c.stream[placement]),
          (node.stream[placement] / c.stream[placement]).toFixed(2),
        ]);
      }
      for (const placement of ['1 CPU', '2 CPUs', '1 CPU, spin 50', '2 CPUs, spin 50']) {
        const n = node.trip[placement];
        const k = c.trip[placement.replace(', spin 50', '')];
        if (n === undefined) continue;
        rows.push([
          label,
          `round trip us, ${placement}`,
          `${n.median.toFixed(1)} / ${n.p99.toFixed(1)}`,
          `${k.median.toFixed(1)} / ${k.p99.toFixed(1)}`,
          (n.median / k.median).toFixed(2),
        ]);
      }
    }
  }
  const header = ['queue', 'measure (round trip: median / p99)', 'Node (ipckit)', 'C', 'Node/C'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)) + 2);
  console.log(header.map((h, i) => pad(h, widths[i])).join(''));
  for (const row of rows) console.log(row.map((v, i) => pad(v, widths[i])).join(''));
  console.log('\nNode/C: rates as a fraction of C (higher is better); round trips as a multiple of C (lower is better).');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

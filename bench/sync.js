#!/usr/bin/env node
// Synchronization benchmark: ipckit from Node next to the same operations in C (bench/sync_c.c,
// built on the same public header), in the same run, pinned with taskset. Prints a table.
//
//   node bench/sync.js [--quick]
//
// Uncontended Mutex lock + unlock, and the cross-process wake-up round trip over two futex words
// (ping stores and wakes, pong waits, stores back and wakes). "1 CPU" pins both processes to
// CPU 0; "2 CPUs" puts them on CPUs 0 and 1 (a blocking wake-up across CPUs costs about 60 us on
// these VMs, for every mechanism).
'use strict';
const { execFileSync } = require('node:child_process');
const { runPinned } = require('./pinned');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { SharedMemory, Mutex } = require('..');

const quick = process.argv.includes('--quick');
const N = { lock: quick ? 200_000 : 1_000_000, trip1: quick ? 5_000 : 20_000, trip2: quick ? 1_000 : 5_000 };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ipckit-bench-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const cBinary = path.join(work, 'sync_c');
execFileSync('cc', [
  '-O2',
  '-D_GNU_SOURCE',
  '-I',
  path.join(__dirname, '..', 'native', 'include'),
  '-o',
  cBinary,
  path.join(__dirname, 'sync_c.c'),
  '-lrt',
  '-pthread',
]);
const worker = path.join(__dirname, 'sync-worker.js');

async function trip(shm, placement, ping, pong) {
  shm.view(Int32Array).fill(0);
  const [result] = await Promise.all([runPinned(0, ping), runPinned(placement === '1 CPU' ? 0 : 1, pong)]);
  return result;
}

async function main() {
  const name = `/ipckit-bench-sync-${process.pid}`;
  const shm = SharedMemory.create(name, { size: 4096 });
  try {
    Mutex.create(shm, 0);
    console.log(`ipckit sync benchmark: Node ${process.version}, ${os.cpus()[0].model}, ${os.cpus().length} CPUs${quick ? ' (quick)' : ''}`);
    console.log('Placement: taskset -c 0 for lock costs; round trips under "1 CPU" (both on CPU 0) and "2 CPUs" (CPUs 0 and 1).\n');
    const rows = [];
    const cLock = await runPinned(0, [cBinary, 'lock', name, String(N.lock)]);
    for (const mode of ['lock-sync', 'try-lock', 'lock-async']) {
      const node = await runPinned(0, [process.execPath, worker, mode, name, String(N.lock)]);
      rows.push([
        `Mutex ${mode === 'lock-sync' ? 'lockSync' : mode === 'try-lock' ? 'tryLock' : 'await lock'} + unlock, ns`,
        node.ns.toFixed(0),
        cLock.ns.toFixed(0),
        (node.ns / cLock.ns).toFixed(2),
      ]);
    }
    for (const placement of ['1 CPU', '2 CPUs']) {
      const n = String(placement === '1 CPU' ? N.trip1 : N.trip2);
      const c = await trip(shm, placement, [cBinary, 'ping', name, n], [cBinary, 'pong', name, n]);
      for (const how of ['sync', 'async']) {
        const node = await trip(shm, placement, [process.execPath, worker, 'ping', name, n, how], [process.execPath, worker, 'pong', name, n, how]);
        rows.push([
          `wake-up round trip (${how === 'sync' ? 'wait' : 'waitAsync'}), ${placement}, us median / p99`,
          `${node.median.toFixed(1)} / ${node.p99.toFixed(1)}`,
          `${c.median.toFixed(1)} / ${c.p99.toFixed(1)}`,
          (node.median / c.median).toFixed(2),
        ]);
      }
    }
    const header = ['measure', 'Node (ipckit)', 'C (ipckit/sync.h)', 'Node/C'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)) + 2);
    console.log(header.map((h, i) => h.padEnd(widths[i])).join(''));
    for (const row of rows) console.log(row.map((v, i) => v.padEnd(widths[i])).join(''));
    console.log("\nNode/C is a multiple of C's figure (lower is better).");
  } finally {
    shm.close();
    SharedMemory.unlink(name);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

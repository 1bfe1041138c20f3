// The Node side of bench/queues.js: the same operations as queues_c.c, through ipckit.
//   queue-worker.js fill-drain sysv|posix TARGET SIZE COUNT   trySend until full, then tryReceive
//   queue-worker.js promise-fill-drain ...                    the same through await send() / await receive()
//   queue-worker.js send|recv  sysv|posix TARGET SIZE COUNT   await send() / await receive()
//   queue-worker.js ping|pong  sysv|posix TARGET SIZE COUNT   round trips with await
'use strict';
const { SysVMessageQueue, PosixMessageQueue } = require('..');

const [mode, kind, target, sizeArg, countArg] = process.argv.slice(2);
const size = Number(sizeArg);
const count = Number(countArg);
const sysv = kind === 'sysv';
const out = sysv ? SysVMessageQueue.open(Number(target)) : PosixMessageQueue.open(target);
const back = sysv ? out : mode === 'ping' || mode === 'pong' ? PosixMessageQueue.open(`${target}-r`) : null;
const data = Buffer.alloc(size, 7);
const now = () => Number(process.hrtime.bigint()) / 1e9;
// System V round trips use types 1 (there) and 2 (back) on one queue; POSIX uses two queues.
// SPIN (microseconds) overrides the receives' default spin.
const spin = process.env.SPIN === undefined ? {} : { spin: Number(process.env.SPIN) };
const there = sysv ? { type: 1, ...spin } : { ...spin };
const backOpts = sysv ? { type: 2, ...spin } : { ...spin };
const sendThere = sysv ? { type: 1 } : {};
const sendBack = sysv ? { type: 2 } : {};
// WARMUP (bench/suite.js): untimed round trips before the timed ones, on both sides.
const warmup = Number(process.env.WARMUP ?? 0);

async function main() {
  if (mode === 'fill-drain') {
    let moved = 0;
    const t0 = now();
    while (moved < count) {
      let batch = 0;
      while (moved + batch < count && out.trySend(data, sendThere)) batch++;
      for (let i = 0; i < batch; i++) if (out.tryReceive() === null) throw new Error('lost');
      moved += batch;
    }
    return { seconds: now() - t0, count };
  }
  if (mode === 'promise-fill-drain') {
    // As fill-drain, through the Promise API: await send() until the queue is full, then await
    // receive() until it is empty. The queue never makes these wait.
    const cap = sysv ? Math.floor(16384 / Math.max(size, 1)) : 10;
    let moved = 0;
    const t0 = now();
    while (moved < count) {
      const batch = Math.min(cap, count - moved);
      for (let i = 0; i < batch; i++) await out.send(data, sendThere);
      for (let i = 0; i < batch; i++) await out.receive();
      moved += batch;
    }
    return { seconds: now() - t0, count };
  }
  if (mode === 'send') {
    const t0 = now();
    for (let i = 0; i < count; i++) await out.send(data, sendThere);
    return { seconds: now() - t0, count };
  }
  if (mode === 'recv') {
    await out.receive(there);
    const t0 = now();
    for (let i = 1; i < count; i++) await out.receive(there);
    return { seconds: now() - t0, count: count - 1 };
  }
  if (mode === 'ping') {
    const lat = new Float64Array(count);
    for (let i = 0; i < warmup + count; i++) {
      const t0 = process.hrtime.bigint();
      await out.send(data, sendThere);
      await back.receive(backOpts);
      if (i >= warmup) lat[i - warmup] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    lat.sort();
    return { median: lat[count >> 1], p99: lat[Math.floor(count * 0.99)], count };
  }
  if (mode === 'pong') {
    for (let i = 0; i < warmup + count; i++) {
      const { data: m } = await out.receive(there);
      await back.send(m, sendBack);
    }
    return {};
  }
  throw new Error(`unknown mode ${mode}`);
}

main().then(
  (result) => {
    console.log(JSON.stringify(result));
    out.close();
    if (back && back !== out) back.close();
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);

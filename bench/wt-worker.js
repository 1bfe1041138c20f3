// The suite's worker_threads rows: in one process, the main thread and a Worker exchange Buffers
// with postMessage (structured clone: a copy per message, no transfer).
//   wt-worker.js stream SIZE COUNT          main posts COUNT messages (windowed, bench/window.js), the
//                                           worker counts them: {"count","seconds"} from the first
//   wt-worker.js rtt SIZE COUNT WARMUP      main posts, the worker echoes: {"median","p99"} (us)
// The suite pins the process (both threads) with taskset; the threads are not pinned apart.
'use strict';
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { windowFor } = require('./window');

const now = () => Number(process.hrtime.bigint()) / 1e9;

if (!isMainThread) {
  const { mode, size, count, warmup } = workerData;
  const { ackEvery } = windowFor(size);
  let got = 0;
  let t0 = 0;
  parentPort.on('message', (message) => {
    if (mode === 'rtt') {
      parentPort.postMessage(message);
      if (++got === warmup + count) parentPort.close();
      return;
    }
    if (message.length !== size) throw new Error(`received ${message.length} bytes`);
    if (++got === 1) t0 = now();
    if (got % ackEvery === 0) parentPort.postMessage(got);
    if (got === count) {
      parentPort.postMessage({ count: count - 1, seconds: now() - t0 });
      parentPort.close();
    }
  });
  parentPort.postMessage('ready');
} else {
  const [, , mode, sizeArg, countArg, warmupArg = '0'] = process.argv;
  const size = Number(sizeArg);
  const count = Number(countArg);
  const warmup = Number(warmupArg);
  const data = Buffer.alloc(size, 7);
  const worker = new Worker(__filename, { workerData: { mode, size, count, warmup } });
  const next = () => new Promise((resolve) => worker.once('message', resolve));
  (async () => {
    await next(); // 'ready'
    if (mode === 'stream') {
      const { window } = windowFor(size);
      let acked = 0;
      let wake = null;
      let result = null;
      worker.on('message', (message) => {
        if (typeof message === 'number') acked = message;
        else result = message;
        if (wake) wake();
      });
      for (let i = 0; i < count; i++) {
        while (i - acked >= window) await new Promise((r) => (wake = r));
        worker.postMessage(data);
      }
      while (result === null) await new Promise((r) => (wake = r));
      return result;
    }
    const lat = new Float64Array(count);
    for (let i = 0; i < warmup + count; i++) {
      const t0 = process.hrtime.bigint();
      const reply = next();
      worker.postMessage(data);
      const message = await reply;
      if (i >= warmup) lat[i - warmup] = Number(process.hrtime.bigint() - t0) / 1000;
      if (message.length !== size) throw new Error(`echo of ${message.length} bytes`);
    }
    lat.sort();
    return { median: lat[count >> 1], p99: lat[Math.floor(count * 0.99)], count };
  })().then(
    (result) => {
      console.log(JSON.stringify(result));
      worker.terminate();
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}

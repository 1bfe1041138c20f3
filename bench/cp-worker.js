// The suite's child_process rows: the parent forks this file again and exchanges Buffers with the
// child over Node's IPC channel (process.send / 'message', serialization: 'advanced', which sends a
// Buffer as bytes; the default 'json' would send it as a JSON array of numbers).
//   cp-worker.js stream SIZE COUNT CHILD_CPU          parent sends COUNT messages (windowed, bench/window.js),
//                                                     the child counts them: {"count","seconds"} from the first
//   cp-worker.js rtt SIZE COUNT CHILD_CPU WARMUP      parent sends, child echoes: {"median","p99"} (us)
// The parent runs where the suite pinned it; the child is moved to CHILD_CPU with taskset -p before
// any timed message.
'use strict';
const { fork, execFileSync } = require('node:child_process');
const { windowFor } = require('./window');

const now = () => Number(process.hrtime.bigint()) / 1e9;

if (process.argv[2] === 'child') {
  const [, , , mode, sizeArg, countArg] = process.argv;
  const size = Number(sizeArg);
  const count = Number(countArg);
  const { ackEvery } = windowFor(size);
  let got = 0;
  let t0 = 0;
  process.on('message', (message) => {
    if (mode === 'rtt') {
      process.send(message); // the parent disconnects after the last echo
      return;
    }
    if (message.length !== size) throw new Error(`received ${message.length} bytes`);
    if (++got === 1) t0 = now();
    if (got % ackEvery === 0) process.send(got);
    if (got === count) process.send({ count: count - 1, seconds: now() - t0 }, () => process.disconnect());
  });
  process.send('ready');
} else {
  const [, , mode, sizeArg, countArg, childCpu, warmupArg = '0'] = process.argv;
  const size = Number(sizeArg);
  const count = Number(countArg);
  const warmup = Number(warmupArg);
  const data = Buffer.alloc(size, 7);
  const child = fork(__filename, ['child', mode, sizeArg, countArg, warmupArg], { serialization: 'advanced' });
  const next = () => new Promise((resolve) => child.once('message', resolve));
  let done = false;
  child.on('exit', (code, signal) => {
    if (done) process.exit(0);
    console.error(`cp-worker: the child exited (${code ?? signal}) before the run ended`);
    process.exit(1);
  });
  (async () => {
    await next(); // 'ready'
    execFileSync('taskset', ['-p', '-c', childCpu, String(child.pid)], { stdio: 'ignore' });
    if (mode === 'stream') {
      const { window } = windowFor(size);
      let acked = 0;
      let wake = null;
      let result = null;
      child.on('message', (message) => {
        if (typeof message === 'number') acked = message;
        else result = message;
        if (wake) wake();
      });
      for (let i = 0; i < count; i++) {
        while (i - acked >= window) await new Promise((r) => (wake = r));
        child.send(data);
      }
      while (result === null) await new Promise((r) => (wake = r));
      return result;
    }
    const lat = new Float64Array(count);
    for (let i = 0; i < warmup + count; i++) {
      const t0 = process.hrtime.bigint();
      const reply = next();
      child.send(data);
      const message = await reply;
      if (i >= warmup) lat[i - warmup] = Number(process.hrtime.bigint() - t0) / 1000;
      if (message.length !== size) throw new Error(`echo of ${message.length} bytes`);
    }
    lat.sort();
    return { median: lat[count >> 1], p99: lat[Math.floor(count * 0.99)], count };
  })().then(
    (result) => {
      console.log(JSON.stringify(result));
      done = true;
      if (child.connected) child.disconnect();
    },
    (error) => {
      console.error(error);
      child.kill();
      process.exit(1);
    },
  );
}

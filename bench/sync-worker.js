// The Node side of bench/sync.js: the same operations as sync_c.c, through ipckit.
//   sync-worker.js lock-sync|lock-async|try-lock NAME N
//   sync-worker.js ping|pong NAME N sync|async
'use strict';
const { SharedMemory, Mutex, wait, waitAsync, wake } = require('..');

const [mode, name, nArg, how] = process.argv.slice(2);
const n = Number(nArg);
const shm = SharedMemory.open(name);
const words = shm.view(Int32Array);
const PING = 64 / 4;
const PONG = 128 / 4;

async function main() {
  if (mode.startsWith('lock') || mode === 'try-lock') {
    const mutex = Mutex.open(shm, 0);
    const t0 = process.hrtime.bigint();
    if (mode === 'lock-sync')
      for (let i = 0; i < n; i++) {
        mutex.lockSync();
        mutex.unlock();
      }
    else if (mode === 'try-lock')
      for (let i = 0; i < n; i++) {
        mutex.tryLock();
        mutex.unlock();
      }
    else
      for (let i = 0; i < n; i++) {
        await mutex.lock();
        mutex.unlock();
      }
    return { ns: Number(process.hrtime.bigint() - t0) / n };
  }
  const useAsync = how === 'async';
  if (mode === 'ping') {
    const lat = new Float64Array(n);
    for (let i = 1; i <= n; i++) {
      const t0 = process.hrtime.bigint();
      Atomics.store(words, PING, i);
      wake(words, PING, 1);
      let seen;
      // The synchronous loop has no await in it, as in C.
      if (useAsync) while ((seen = Atomics.load(words, PONG)) !== i) await waitAsync(words, PONG, seen);
      else while ((seen = Atomics.load(words, PONG)) !== i) wait(words, PONG, seen);
      lat[i - 1] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    lat.sort();
    return { median: lat[n >> 1], p99: lat[Math.floor(n * 0.99)] };
  }
  if (mode === 'pong') {
    for (let i = 1; i <= n; i++) {
      let seen;
      if (useAsync) while ((seen = Atomics.load(words, PING)) !== i) await waitAsync(words, PING, seen);
      else while ((seen = Atomics.load(words, PING)) !== i) wait(words, PING, seen);
      Atomics.store(words, PONG, i);
      wake(words, PONG, 1);
    }
    return {};
  }
  throw new Error(`unknown mode ${mode}`);
}

main().then(
  (result) => {
    console.log(JSON.stringify(result));
    shm.close();
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);

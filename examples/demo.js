// ipckit's demo: a Node process and a Python process (standard library only) share one POSIX
// shared-memory object. They coordinate through a few int32 fields at its start (see
// demo_peer.py for the layout); Node streams chunks, Python checksums each one in place, and
// Node checks every checksum against its own.
'use strict';
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const zlib = require('node:zlib');
const { SharedMemory } = require('..');

const HEADER = 64;
const CHUNK = 1 << 20;
const CHUNKS = 512;
const python = process.env.PYTHON || 'python3';

async function main() {
  const shm = SharedMemory.create(`/ipckit-demo-${process.pid}`, { size: HEADER + CHUNK });
  try {
    await run(shm);
  } finally {
    shm.close();
    shm.unlink();
  }
}

async function run(shm) {
  const control = shm.view(Int32Array, 0, 4); // seq, ack, length, crc
  const payload = shm.buffer.subarray(HEADER);
  console.log(
    `ipckit demo: Node ${process.version} <-> Python through POSIX shared memory '${shm.name}' (${shm.size} bytes, mode ${(shm.stat().mode & 0o777).toString(8)})`,
  );

  control[1] = -1; // no ack yet
  const greeting = Buffer.from(`hello from Node ${process.version}, pid ${process.pid}`);
  greeting.copy(payload);
  control[2] = greeting.length;
  Atomics.store(control, 0, 0);
  console.log(`[node]   wrote ${greeting.length} bytes at offset ${HEADER}: '${greeting}'`);

  const peer = spawn(python, [path.join(__dirname, 'demo_peer.py'), shm.name.slice(1)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let peerOutput = '';
  peer.stdout.on('data', (chunk) => (peerOutput += chunk));
  const peerExit = new Promise((resolve, reject) => {
    peer.on('error', reject);
    peer.on('exit', (code, signal) => resolve(code ?? signal));
  });

  // Python is a separate process on another CPU: wait for it by polling the shared ack field,
  // yielding to the event loop so its output (and an early exit) is noticed.
  async function waitForAck(seq) {
    const giveUp = Date.now() + 30_000;
    for (let spins = 0; Atomics.load(control, 1) !== seq; spins++) {
      if ((spins & 0xffff) === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (peer.exitCode !== null || Date.now() > giveUp) throw new Error(`Python stopped before acknowledging ${seq}:\n${peerOutput}`);
      }
    }
  }

  await waitForAck(0);
  const reply = payload.toString('utf8', 0, control[2]);
  console.log(`[node]   read Python's reply in place: '${reply}'`);

  const source = crypto.randomBytes(CHUNK + CHUNKS);
  let matched = 0;
  const started = process.hrtime.bigint();
  for (let seq = 1; seq <= CHUNKS; seq++) {
    const chunk = source.subarray(seq, seq + CHUNK); // a different window each time
    chunk.copy(payload);
    control[2] = CHUNK;
    Atomics.store(control, 0, seq);
    const expected = zlib.crc32(chunk);
    await waitForAck(seq);
    if (control[3] >>> 0 === expected) matched++;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  Atomics.store(control, 0, -1);
  const status = await peerExit;
  process.stdout.write(peerOutput);
  if (status !== 0) throw new Error(`Python exited with ${status}`);

  const mib = (CHUNKS * CHUNK) / 2 ** 20;
  console.log(`[node]   sent ${CHUNKS} chunks of ${CHUNK >> 20} MiB; Python's CRC-32 matched Node's for ${matched} of ${CHUNKS}`);
  console.log(
    `throughput: ${mib} MiB in ${seconds.toFixed(2)} s = ${(mib / seconds).toFixed(0)} MiB/s, Node writing and Python reading the same pages (no copy between processes)`,
  );
  if (matched !== CHUNKS) throw new Error('checksum mismatch');
}

Promise.resolve()
  .then(main)
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });

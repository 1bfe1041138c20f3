// The Node ends of the suite's `net` rows: framed messages (bench/frames.js) over a Unix socket.
//   net-worker.js recv PATH SIZE COUNT          listens, accepts one peer, counts COUNT messages:
//                                               {"count","seconds"}, the clock starting at the first message
//   net-worker.js send PATH SIZE COUNT          connects (retrying until the peer listens) and writes COUNT
//                                               messages, waiting for 'drain' whenever write() says so
//   net-worker.js pong PATH SIZE COUNT WARMUP   listens; echoes each message
//   net-worker.js ping PATH SIZE COUNT WARMUP   connects; one message in flight: {"median","p99"} (us)
'use strict';
const net = require('node:net');
const { writeFrame, FrameParser } = require('./frames');

const [mode, path, sizeArg, countArg, warmupArg] = process.argv.slice(2);
const size = Number(sizeArg);
const count = Number(countArg);
const warmup = Number(warmupArg ?? 0);
const data = Buffer.alloc(size, 7);
const now = () => Number(process.hrtime.bigint()) / 1e9;

function listen() {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      server.close();
      resolve(socket);
    });
    server.on('error', reject);
    server.listen(path);
  });
}

async function connect() {
  for (let tries = 0; ; tries++) {
    try {
      return await new Promise((resolve, reject) => {
        const socket = net.connect(path, () => resolve(socket));
        socket.once('error', reject);
      });
    } catch (error) {
      if (tries > 5000 || (error.code !== 'ENOENT' && error.code !== 'ECONNREFUSED')) throw error;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

async function main() {
  if (mode === 'recv') {
    const socket = await listen();
    return new Promise((resolve, reject) => {
      let got = 0;
      let t0 = 0;
      const parser = new FrameParser((message) => {
        if (message.length !== size) reject(new Error(`received ${message.length} bytes`));
        if (++got === 1) t0 = now();
        if (got === count) {
          resolve({ count: count - 1, seconds: now() - t0 });
          socket.end();
        }
      });
      socket.on('data', (chunk) => parser.push(chunk));
      socket.on('error', reject);
    });
  }
  if (mode === 'send') {
    const socket = await connect();
    for (let i = 0; i < count; i++) {
      if (!writeFrame(socket, data)) await new Promise((r) => socket.once('drain', r));
    }
    await new Promise((r) => socket.end(r));
    // The receiver closes once it has every message.
    await new Promise((r) => (socket.closed ? r() : socket.once('close', r)));
    return {};
  }
  if (mode === 'pong') {
    const socket = await listen();
    return new Promise((resolve, reject) => {
      let got = 0;
      const parser = new FrameParser((message) => {
        writeFrame(socket, message);
        if (++got === warmup + count) socket.end(() => resolve({}));
      });
      socket.on('data', (chunk) => parser.push(chunk));
      socket.on('error', reject);
    });
  }
  if (mode === 'ping') {
    const socket = await connect();
    let answer = null;
    const parser = new FrameParser((message) => {
      const settle = answer;
      answer = null;
      settle(message);
    });
    socket.on('data', (chunk) => parser.push(chunk));
    const lat = new Float64Array(count);
    for (let i = 0; i < warmup + count; i++) {
      const t0 = process.hrtime.bigint();
      const reply = new Promise((r) => (answer = r));
      writeFrame(socket, data);
      const message = await reply;
      if (i >= warmup) lat[i - warmup] = Number(process.hrtime.bigint() - t0) / 1000;
      if (message.length !== size) throw new Error(`echo of ${message.length} bytes`);
    }
    socket.destroy();
    lat.sort();
    return { median: lat[count >> 1], p99: lat[Math.floor(count * 0.99)], count };
  }
  throw new Error(`unknown mode ${mode}`);
}

main().then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);

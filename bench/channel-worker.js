// The Node ends of the suite's Channel rows (bench/suite.js). One line of JSON on stdout.
//   channel-worker.js send NAME SIZE COUNT SPIN API          producer; API: trysend (trySend, await send() when full)
//                                                            or batch (trySendBatch of 32, await send() when full)
//   channel-worker.js recv NAME SIZE COUNT SPIN API          consumer; API: batch (tryReceiveBatch(256), await
//                                                            receiveBatch() when empty; copies) or view (tryReceiveView,
//                                                            release() every capacity/4 bytes or when empty; zero-copy)
//                                                            {"count","seconds"}, the clock starting at the first message
//   channel-worker.js ping NAME SIZE COUNT SPIN WAIT WARMUP  WAIT: sync (sendSync/receiveSync) or promise (await send/receive);
//                                                            sends on NAME-a, the echo comes back on NAME-b: {"median","p99"} us
//   channel-worker.js pong NAME SIZE COUNT SPIN WAIT WARMUP  receives on NAME-a, echoes on NAME-b
'use strict';
const { Channel } = require('..');

const [mode, name, sizeArg, countArg, spinArg, how, warmupArg] = process.argv.slice(2);
const size = Number(sizeArg);
const count = Number(countArg);
const spin = Number(spinArg);
const warmup = Number(warmupArg ?? 0);
const data = Buffer.alloc(size, 7);
const now = () => Number(process.hrtime.bigint()) / 1e9;

async function send(ch) {
  let sent = 0;
  if (how === 'batch') {
    const full = new Array(32).fill(data);
    while (sent < count) {
      const list = count - sent >= full.length ? full : full.slice(0, count - sent);
      const n = ch.trySendBatch(list);
      if (n > 0) sent += n;
      else {
        await ch.send(data);
        sent++;
      }
    }
  } else {
    while (sent < count) {
      if (ch.trySend(data)) sent++;
      else {
        await ch.send(data);
        sent++;
      }
    }
  }
  return {};
}

async function receive(ch) {
  const first = await ch.receive();
  if (first.length !== size) throw new Error(`received ${first.length} bytes, expected ${size}`);
  const t0 = now();
  let got = 1;
  if (how === 'view') {
    const releaseEvery = ch.capacity / 4;
    let held = 0;
    let sum = 0;
    while (got < count) {
      let view = ch.tryReceiveView();
      if (view === null) {
        ch.release();
        held = 0;
        view = await ch.receiveView();
      }
      sum += view[0];
      got++;
      held += view.length + 8;
      if (held >= releaseEvery) {
        ch.release();
        held = 0;
      }
    }
    ch.release();
    if (sum !== 7 * (count - 1)) throw new Error('wrong bytes');
  } else {
    while (got < count) {
      let list = ch.tryReceiveBatch(256);
      if (list.length === 0) list = await ch.receiveBatch(256);
      got += list.length;
    }
  }
  return { count: count - 1, seconds: now() - t0 };
}

async function pingPong(ping) {
  const a = Channel.open(`${name}-a`, { role: ping ? 'producer' : 'consumer', spin });
  const b = Channel.open(`${name}-b`, { role: ping ? 'consumer' : 'producer', spin });
  const [out, back] = ping ? [a, b] : [b, a];
  const sync = how === 'sync';
  try {
    if (!ping) {
      for (let i = 0; i < warmup + count; i++) {
        if (sync) out.sendSync(back.receiveSync());
        else await out.send(await back.receive());
      }
      return {};
    }
    const lat = new Float64Array(count);
    for (let i = 0; i < warmup + count; i++) {
      const t0 = process.hrtime.bigint();
      let reply;
      if (sync) {
        out.sendSync(data);
        reply = back.receiveSync();
      } else {
        await out.send(data);
        reply = await back.receive();
      }
      if (i >= warmup) lat[i - warmup] = Number(process.hrtime.bigint() - t0) / 1000;
      if (reply.length !== size) throw new Error(`echo of ${reply.length} bytes, expected ${size}`);
    }
    lat.sort();
    return { median: lat[count >> 1], p99: lat[Math.floor(count * 0.99)], count };
  } finally {
    a.close();
    b.close();
  }
}

async function main() {
  if (mode === 'ping' || mode === 'pong') return pingPong(mode === 'ping');
  const ch = Channel.open(name, { role: mode === 'send' ? 'producer' : 'consumer', spin });
  try {
    if (mode === 'send') return await send(ch);
    if (mode === 'recv') return await receive(ch);
    throw new Error(`unknown mode ${mode}`);
  } finally {
    ch.close();
  }
}

main().then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);

// Several producer processes (Node under GC pressure, reusing one Buffer, and C) and several Node
// consumers move tens of thousands of messages through one queue. Every message is checked;
// none may be lost, duplicated or corrupted, and each consumer sees each producer's messages in
// the order they were sent.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { PosixMessageQueue, SysVMessageQueue } from '../../lib';
import { compileC, fixtures, run, sysvKey, uniqueName, type RunResult } from '../helpers';

jest.setTimeout(180_000);

const PER_PRODUCER = 10_000;
const NODE_PRODUCERS = [1, 2, 3];
const C_PRODUCER = 4;
const CONSUMERS = 2;
const MAX_BODY = 300;

function consumer(kind: string, target: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(fixtures, 'mq-peer.js'), kind, 'consume', target], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 150_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function stress(kind: 'sysv' | 'posix', target: string, sendStop: () => Promise<void>) {
  const consumers = Array.from({ length: CONSUMERS }, () => consumer(kind, target));
  const producers = [
    ...NODE_PRODUCERS.map((id) =>
      run(
        process.execPath,
        ['--expose-gc', path.join(fixtures, 'mq-peer.js'), kind, 'send', target, String(PER_PRODUCER), String(MAX_BODY), String(id)],
        { timeout: 150_000 },
      ),
    ),
    run(
      compileC(kind === 'sysv' ? 'sysv_mq_peer.c' : 'posix_mq_peer.c'),
      ['send', target, String(PER_PRODUCER), String(MAX_BODY), String(C_PRODUCER)],
      { timeout: 150_000 },
    ),
  ];
  for (const result of await Promise.all(producers)) {
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`sent ${PER_PRODUCER}\n`);
  }
  await sendStop();
  const seen = new Map<number, number[]>();
  for (const result of await Promise.all(consumers)) {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const perProducer = JSON.parse(result.stdout) as Record<string, number[]>;
    for (const [producer, seqs] of Object.entries(perProducer)) {
      // Each consumer sees each producer's messages in order.
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
      seen.set(Number(producer), [...(seen.get(Number(producer)) ?? []), ...seqs]);
    }
  }
  // Across consumers: every message of every producer exactly once.
  expect([...seen.keys()].sort()).toEqual([...NODE_PRODUCERS, C_PRODUCER]);
  const all = [...Array(PER_PRODUCER).keys()];
  for (const seqs of seen.values()) expect(seqs.sort((a, b) => a - b)).toEqual(all);
}

function stopMessage(): Buffer {
  const stop = Buffer.alloc(16);
  stop.writeUInt32LE(0xffffffff, 0);
  return stop;
}

test(`System V: ${NODE_PRODUCERS.length + 1} producers, ${CONSUMERS} consumers, ${(NODE_PRODUCERS.length + 1) * PER_PRODUCER} messages`, async () => {
  const queue = SysVMessageQueue.create(sysvKey());
  try {
    await stress('sysv', String(queue.key), async () => {
      for (let i = 0; i < CONSUMERS; i++) await queue.send(stopMessage(), { type: 1000 });
    });
    expect(queue.stat().messages).toBe(0);
  } finally {
    queue.remove();
    queue.close();
  }
});

test(`POSIX: ${NODE_PRODUCERS.length + 1} producers, ${CONSUMERS} consumers, ${(NODE_PRODUCERS.length + 1) * PER_PRODUCER} messages`, async () => {
  const queue = PosixMessageQueue.create(uniqueName('mq-stress'));
  try {
    await stress('posix', queue.name, async () => {
      for (let i = 0; i < CONSUMERS; i++) await queue.send(stopMessage());
    });
    expect(queue.attributes.currentMessages).toBe(0);
  } finally {
    queue.close();
    queue.unlink();
  }
});

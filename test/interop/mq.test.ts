// Queues across processes and languages, both ways: Node and Node, Node and C, Node and Python
// (System V through Debian's python3-sysv-ipc, POSIX through ctypes). Every message carries a
// producer, a sequence number and a checksum (test/c/mq_common.h); the receiving side checks them
// and the order.
import * as path from 'node:path';
import { PosixMessageQueue, SysVMessageQueue } from '../../lib';
import { compileC, python, pythonDir, run, runNode, sysvKey, uniqueName, type RunResult } from '../helpers';

const COUNT = 1500;
const SYSV_PYTHON = '/usr/bin/python3'; // Debian's python3-sysv-ipc is installed for this one

let sysv: SysVMessageQueue;
let posix: PosixMessageQueue;
let maxBody: number;

beforeEach(() => {
  sysv = SysVMessageQueue.create(sysvKey());
  posix = PosixMessageQueue.create(uniqueName('mq-interop'));
  // The largest message each queue allows crosses first (seq 0 carries maxBody bytes).
  maxBody = Math.min(sysv.messageMax, posix.attributes.messageSize) - 16;
});
afterEach(() => {
  sysv.remove();
  sysv.close();
  posix.close();
  posix.unlink();
});

function expectOk(result: RunResult, line: string) {
  expect(result.stderr).toBe('');
  expect(result.stdout).toBe(`${line}\n`);
  expect(result.code).toBe(0);
}

// Runs sender and receiver at once, so the queue fills and both sides wait.
async function pair(sender: Promise<RunResult>, receiver: Promise<RunResult>) {
  const [sent, received] = await Promise.all([sender, receiver]);
  expectOk(sent, `sent ${COUNT}`);
  expectOk(received, `received ${COUNT}`);
}

// A peer that dies leaves its partner waiting on the queue: every peer is killed after 30 s.
const LIMIT = { timeout: 30000 };
const node = (kind: string, command: string, target: string | number, ...rest: (string | number)[]) =>
  runNode('mq-peer.js', [kind, command, String(target), ...rest.map(String)], LIMIT);

describe.each(['sysv', 'posix'] as const)('%s queues', (kind) => {
  const target = () => (kind === 'sysv' ? sysv.key : posix.name);
  const cPeer = () => compileC(kind === 'sysv' ? 'sysv_mq_peer.c' : 'posix_mq_peer.c');
  const pythonPeer = (command: string, ...rest: (string | number)[]) =>
    kind === 'sysv'
      ? run(SYSV_PYTHON, [path.join(pythonDir, 'sysv_mq_peer.py'), command, String(target()), ...rest.map(String)], LIMIT)
      : run(python, [path.join(pythonDir, 'posix_mq_peer.py'), command, String(target()), ...rest.map(String)], LIMIT);

  test('Node process to Node process', async () => {
    await pair(node(kind, 'send', target(), COUNT, maxBody, 1), node(kind, 'recv', target(), COUNT));
  });

  test('Node to C', async () => {
    await pair(node(kind, 'send', target(), COUNT, maxBody, 2), run(cPeer(), ['recv', String(target()), String(COUNT)], LIMIT));
  });

  test('C to Node', async () => {
    await pair(run(cPeer(), ['send', String(target()), String(COUNT), String(maxBody), '3'], LIMIT), node(kind, 'recv', target(), COUNT));
  });

  test('Node to Python', async () => {
    await pair(node(kind, 'send', target(), COUNT, maxBody, 4), pythonPeer('recv', COUNT));
  });

  test('Python to Node', async () => {
    await pair(pythonPeer('send', COUNT, maxBody, 5), node(kind, 'recv', target(), COUNT));
  });

  test('a damaged message is caught by the C checker (the check can fail)', async () => {
    const bad = Buffer.alloc(40);
    bad.writeUInt32LE(0, 0);
    bad.writeUInt32LE(0, 4);
    bad.writeUInt32LE(24, 8);
    bad.writeUInt32LE(12345, 12);
    if (kind === 'sysv') sysv.trySend(bad, { type: 1 });
    else posix.trySend(bad);
    const result = await run(cPeer(), ['recv', String(target()), '1']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/checksum mismatch/);
  });
});

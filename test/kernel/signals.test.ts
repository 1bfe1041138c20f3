// Signals with a payload in one process and in children: self-sent values, the receiver's
// iteration, waits and close(), refusals, Node's own handlers left intact, dispositions restored,
// worker threads. Anything that takes a signal Node might care about runs in a child.
import { receiveSignals, sendSignal } from '../../lib';
import { signalDisposition, signalNumber } from '../../lib/signals';
import { isRoot, kill, openFdCount, repoRoot, runNode, startNode, thrown } from '../helpers';

const LIMIT = { timeout: 30000 };

test('a value sent to this process arrives with its sender, uid and source', async () => {
  using receiver = receiveSignals('SIGRTMIN+6');
  expect(receiver.signals).toEqual(['SIGRTMIN+6']);
  expect(signalDisposition('SIGRTMIN+6')).toBe('ipckit');
  sendSignal(process.pid, 'SIGRTMIN+6', -7);
  const got = await receiver.receive();
  expect(got).toMatchObject({ signal: 'SIGRTMIN+6', value: -7, pid: process.pid, uid: process.getuid!(), source: 'sigqueue', code: -1 });
  receiver.close();
  expect(signalDisposition('SIGRTMIN+6')).toBe('default');
});

test('a signal sent with kill() says so and carries value 0', async () => {
  using receiver = receiveSignals('SIGRTMAX-1');
  process.kill(process.pid, signalNumber('SIGRTMAX-1', 'signal'));
  const got = await receiver.receive();
  expect(got).toMatchObject({ signal: 'SIGRTMAX-1', value: 0, source: 'kill', pid: process.pid });
});

test('for await takes signals as they come; close() ends a pending next() with done', async () => {
  const receiver = receiveSignals(['SIGRTMIN+6', 'SIGRTMIN+7']);
  const seen: string[] = [];
  const loop = (async () => {
    for await (const s of receiver) {
      seen.push(`${s.signal}=${s.value}`);
      if (seen.length === 2) setImmediate(() => receiver.close());
    }
    return 'ended';
  })();
  sendSignal(process.pid, 'SIGRTMIN+6', 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  sendSignal(process.pid, 'SIGRTMIN+7', 2);
  await expect(loop).resolves.toBe('ended');
  expect(seen).toEqual(['SIGRTMIN+6=1', 'SIGRTMIN+7=2']);
  expect(receiver.closed).toBe(true);
  receiver.close(); // idempotent
  await expect(receiver.receive()).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
});

test('receive() takes { timeout, signal } and close() rejects a pending receive with ERR_IPC_CLOSED', async () => {
  using receiver = receiveSignals('SIGRTMIN+8');
  await expect(receiver.receive({ timeout: 0 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
  await expect(receiver.receive({ timeout: 10 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
  const controller = new AbortController();
  const aborted = receiver.receive({ signal: controller.signal });
  controller.abort();
  await expect(aborted).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED' });
  const pending = receiver.receive();
  receiver.close();
  await expect(pending).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
  // Bad wait options are refused synchronously, before anything waits.
  expect(thrown(() => receiver.receive({ timeout: -1 })).code).toBe('ERR_OUT_OF_RANGE');
});

test('arguments are checked before any syscall', () => {
  expect(thrown(() => receiveSignals('SIGNOPE')).code).toBe('ERR_INVALID_ARG_VALUE');
  expect(thrown(() => receiveSignals([])).code).toBe('ERR_INVALID_ARG_VALUE');
  expect(thrown(() => receiveSignals({} as never)).code).toBe('ERR_INVALID_ARG_TYPE');
  expect(thrown(() => receiveSignals('SIGRTMIN+6', { bufferSize: 0 })).code).toBe('ERR_OUT_OF_RANGE');
  expect(thrown(() => receiveSignals(999)).code).toBe('ERR_OUT_OF_RANGE');
  expect(thrown(() => receiveSignals('SIGKILL')).code).toBe('ERR_INVALID_ARG_VALUE');
  expect(thrown(() => receiveSignals('SIGSEGV')).code).toBe('ERR_INVALID_ARG_VALUE');
  expect(thrown(() => receiveSignals('SIGRTMAX-4')).code).toBe('ERR_INVALID_ARG_VALUE');
  expect(thrown(() => sendSignal(process.pid, 'SIGRTMIN', 2 ** 31)).code).toBe('ERR_OUT_OF_RANGE');
  expect(thrown(() => sendSignal(process.pid, 'SIGRTMIN', '1' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
  expect(thrown(() => sendSignal(0, 'SIGRTMIN', 1)).code).toBe('ERR_OUT_OF_RANGE');
  expect(thrown(() => sendSignal(process.pid, 'SIGRTMIN-1', 1)).code).toBe('ERR_INVALID_ARG_VALUE');
});

test('the receiver class is not constructible from JavaScript (it is reachable as receiver.constructor)', () => {
  const receiver = receiveSignals('SIGRTMIN+7');
  try {
    const Receiver = receiver.constructor as new (...args: unknown[]) => unknown;
    for (const args of [[], [null], [[11], 1, true], [[9], 65536, true], [['SIGUSR2'], 1, true]]) {
      expect(thrown(() => new Receiver(...args))).toMatchObject({
        code: 'ERR_ILLEGAL_CONSTRUCTOR',
        message: expect.stringContaining('receiveSignals()'),
      });
    }
    // Nothing was installed on the way: the fault signal is not ipckit's.
    expect(signalDisposition('SIGSEGV')).not.toBe('ipckit');
  } finally {
    receiver.close();
  }
});

test('OS failures are Node-style system errors', () => {
  const error = thrown(() => sendSignal(2 ** 22 + 4321, 'SIGRTMIN', 1));
  expect(error).toMatchObject({ code: 'ESRCH', syscall: 'sigqueue' });
  // pid 1 belongs to root: EPERM unless this test runs as root.
  if (process.getuid!() !== 0) expect(thrown(() => sendSignal(1, 'SIGRTMIN', 1)).code).toBe('EPERM');
});

test('refusals in a child: uncatchable, fault and cancel signals, and signals Node or a listener handles', async () => {
  const result = await runNode('signal-peer.js', ['refusals'], LIMIT);
  expect(result.stderr).toBe('');
  expect(JSON.parse(result.stdout)).toEqual({
    SIGKILL: 'ERR_INVALID_ARG_VALUE',
    SIGSTOP: 'ERR_INVALID_ARG_VALUE',
    SIGSEGV: 'ERR_INVALID_ARG_VALUE',
    SIGPIPE: 'ERR_INVALID_ARG_VALUE',
    cancel: 'ERR_INVALID_ARG_VALUE',
    listened: 'ERR_IPC_SIGNAL_IN_USE',
    inspector: 'ERR_IPC_SIGNAL_IN_USE',
    twice: 'ERR_IPC_SIGNAL_IN_USE',
    partial: 'ERR_IPC_SIGNAL_IN_USE',
    partialAfter: 'default',
    unknown: 'ERR_INVALID_ARG_VALUE',
    badOffset: 'ERR_INVALID_ARG_VALUE',
    badValue: 'ERR_OUT_OF_RANGE',
    fraction: 'ERR_OUT_OF_RANGE',
    noProcess: 'ESRCH',
    usr2After: 'other',
  });
  expect(result.code).toBe(0);
});

test("Node's handling stays intact beside a receiver: process.on('SIGUSR2') fires, SIGTERM's default still ends the process", async () => {
  const child = await startNode('signal-peer.js', ['intact']);
  let stdout = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  try {
    sendSignal(child.pid!, 'SIGRTMIN+1', 5);
    while (!stdout.includes('"value":5')) await new Promise((resolve) => setTimeout(resolve, 5));
    process.kill(child.pid!, 'SIGUSR2');
    while (!stdout.includes('waiting')) await new Promise((resolve) => setTimeout(resolve, 5));
    process.kill(child.pid!, 'SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(stdout.split('\n').filter((l) => l !== '')).toEqual(['{"signal":"SIGRTMIN+1","value":5}', 'usr2', 'waiting']);
  } finally {
    await kill(child);
  }
});

test("close() restores the previous disposition: SIGUSR2's default action ends the child again", async () => {
  const child = await startNode('signal-peer.js', ['restore']);
  let stdout = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  try {
    process.kill(child.pid!, 'SIGUSR2');
    expect(await exited).toBe('SIGUSR2');
  } finally {
    await kill(child);
  }
});

test('a receiver in a worker thread works, and terminating the worker gives the signal back', async () => {
  const result = await runNode('signal-peer.js', ['worker'], LIMIT);
  expect(result.stderr).toBe('');
  expect(JSON.parse(result.stdout)).toEqual({ fromWorker: 11, during: 'ipckit', after: 'default', main: 12 });
  expect(result.code).toBe(0);
});

test('an unreferenced receiver does not keep the process alive', async () => {
  const script = `
    const { receiveSignals } = require(${JSON.stringify(repoRoot)});
    const r = receiveSignals('SIGRTMIN+6');
    r.unref();
    process.on('exit', () => process.stdout.write('exited\\n'));`;
  const { spawnSync } = await import('node:child_process');
  const unref = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 });
  expect(unref.stdout).toBe('exited\n');
  expect(unref.status).toBe(0);
});

test('100 receivers opened and closed leave no descriptor behind', async () => {
  const before = openFdCount();
  for (let i = 0; i < 100; i++) {
    const receiver = receiveSignals('SIGRTMIN+9');
    if (i % 10 === 0) {
      sendSignal(process.pid, 'SIGRTMIN+9', i);
      expect((await receiver.receive()).value).toBe(i);
    }
    receiver.close();
  }
  expect(openFdCount()).toBe(before);
  expect(signalDisposition('SIGRTMIN+9')).toBe('default');
});

test('every JS type at every argument is refused with a coded error (or works), and the child survives', async () => {
  const result = await runNode('signal-peer.js', ['garbage'], LIMIT);
  expect(result.signal).toBeNull();
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const outcomes = JSON.parse(result.stdout) as { label: string; code: string }[];
  expect(outcomes).toHaveLength(19 * 5);
  expect(outcomes.filter((o) => o.code !== 'none' && !/^(ERR_|E[A-Z0-9]+$)/.test(o.code))).toEqual([]);
  // Only valid values get through: pid 1 (signal 0 only checks it; EPERM unless root), signal 1
  // (SIGHUP) and plain options.
  expect(outcomes.find((o) => o.label === 'sendSignal pid 4')?.code).toBe(isRoot ? 'none' : 'EPERM');
  expect(outcomes.filter((o) => o.code === 'none' && o.label !== 'sendSignal pid 4').map((o) => o.label)).toEqual([
    'receiveSignals options 0',
    'receiveSignals signals 4',
    'receiveSignals options 12',
    'receiveSignals options 18',
  ]);
});

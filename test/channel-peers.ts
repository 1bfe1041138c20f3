// Support for the channel tests: the C, Python and Node peers (test/c/channel_peer.c,
// test/python/channel_peer.py, test/fixtures/channel-peer.js) and this process's own end, all with
// the message format of test/fixtures/channel-format.js.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Channel } from '../lib';
import { compileC, fixtures, python, pythonDir, repoRoot, scratchDir, type RunResult } from './helpers';

interface SenderState {
  seq: number;
  count: number;
  next(scratch?: Buffer): Buffer;
  report(): { sent: number; checksum: number; bytes: number };
}
interface VerifierState {
  check(msg: Buffer): string | null;
  report(): { count: number; checksum: number; bytes: number; errors: number; firstError: string | null; next: number };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const format = require('./fixtures/channel-format') as {
  Sender: new (seed: number, max: number, start?: number) => SenderState;
  Verifier: new (start?: number) => VerifierState;
  sizes: (seed: number, max: number) => () => number;
};
export const { Sender, Verifier, sizes } = format;

const include = path.join(repoRoot, 'native', 'include');

/** The C peer, compiled once per test file. */
export const cPeer = (): string => compileC('channel_peer.c', ['-D_GNU_SOURCE', '-I', include]);

/** ipckit/channel.h as a shared library for the Python peer (test/c/channel_lib.c). */
export function channelLib(): string {
  const output = path.join(scratchDir(), 'libipckit_channel.so');
  if (!fs.existsSync(output)) {
    execFileSync('cc', [
      '-O2',
      '-Wall',
      '-Werror',
      '-shared',
      '-fPIC',
      '-D_GNU_SOURCE',
      '-I',
      include,
      '-o',
      output,
      path.join(__dirname, 'c', 'channel_lib.c'),
    ]);
  }
  return output;
}

export type Language = 'C' | 'Node' | 'Python';

/** The command line that runs `args` in a peer of `language`. */
export function peerCommand(language: Language, args: string[]): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  if (language === 'C') return { command: cPeer(), args, env: process.env };
  if (language === 'Node') return { command: process.execPath, args: [path.join(fixtures, 'channel-peer.js'), ...args], env: process.env };
  return { command: python, args: [path.join(pythonDir, 'channel_peer.py'), ...args], env: { ...process.env, IPCKIT_CHANNEL_LIB: channelLib() } };
}

export interface Peer {
  child: ChildProcess;
  pid: number;
  /** Resolves when the peer exits. */
  done: Promise<RunResult>;
  /** Resolves with the first line the peer printed that starts with `prefix` (rejects if it exits first). */
  line(prefix: string): Promise<string>;
}

/**
 * Starts a peer and resolves once it prints "ready" (it holds its role then). A peer that exits
 * first rejects, with its output.
 */
export function startPeer(language: Language, args: string[]): Promise<Peer> {
  const { command, args: argv, env } = peerCommand(language, args);
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  let isReady = false;
  let onReady: (() => void) | undefined;
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const watchers: (() => void)[] = [];
  const line = (prefix: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const look = (): boolean => {
        const found = stdout.split('\n').find((l, i, all) => i < all.length - 1 && l.startsWith(prefix));
        if (found !== undefined) resolve(found);
        return found !== undefined;
      };
      if (look()) return;
      watchers.push(look);
      void done.then((result) => {
        if (!look()) reject(new Error(`${language} peer exited (${result.code ?? result.signal}) before a line "${prefix}...": ${stdout}${stderr}`));
      });
    });
  return new Promise((resolve, reject) => {
    onReady = () => resolve({ child, pid: child.pid!, done, line });
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      for (const look of watchers) look();
      if (!isReady && stdout.split('\n').includes('ready')) {
        isReady = true;
        onReady!();
      }
    });
    void done.then((result) => {
      if (!isReady)
        reject(new Error(`${language} peer ${args.join(' ')} exited (${result.code ?? result.signal}) before "ready": ${stdout}${stderr}`));
    }, reject);
  });
}

/** The last JSON line a peer printed. */
export function lastJson(result: RunResult): Record<string, unknown> {
  const lines = result.stdout.trim().split('\n');
  const last = lines[lines.length - 1];
  try {
    return JSON.parse(last) as Record<string, unknown>;
  } catch {
    throw new Error(`no JSON report (exit ${result.code ?? result.signal}): ${result.stdout}${result.stderr}`);
  }
}

/** Runs a peer to its end and returns its JSON report (and exit code). */
export async function finish(peer: Peer): Promise<Record<string, unknown> & { exit: number | string | null }> {
  const result = await peer.done;
  return { ...lastJson(result), exit: result.code ?? result.signal };
}

/** Sends `count` messages from `sender` on `ch`, waiting for room as needed. */
export async function sendAll(ch: Channel, sender: SenderState, count: number): Promise<void> {
  const scratch = Buffer.allocUnsafe(ch.maxMessageSize);
  for (let n = 0; n < count; n++) {
    const msg = sender.next(scratch);
    if (!ch.trySend(msg)) await ch.send(msg);
  }
}

/**
 * Receives and verifies until the producer closes or exits (ERR_IPC_PEER_CLOSED, whose `peer` is
 * returned), or until `limit` messages.
 */
export async function receiveAll(
  ch: Channel,
  verifier: VerifierState,
  limit = Infinity,
): Promise<ReturnType<VerifierState['report']> & { peer: string | null }> {
  let received = 0;
  let peer: string | null = null;
  while (received < limit) {
    let batch = ch.tryReceiveBatch(Math.min(1024, limit - received));
    if (batch.length === 0) {
      try {
        batch = [await ch.receive()];
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERR_IPC_PEER_CLOSED') throw error;
        peer = (error as { peer?: string }).peer ?? null;
        break;
      }
    }
    for (const msg of batch) verifier.check(msg);
    received += batch.length;
  }
  return { ...verifier.report(), peer };
}

/** How many records a producer of these sizes writes that do not fit before the ring's end (each one pads and wraps). */
export function wrapsFor(capacity: number, seed: number, max: number, count: number): { wraps: number; atMax: number } {
  const next = sizes(seed, max);
  let position = 0;
  let wraps = 0;
  let atMax = 0;
  for (let n = 0; n < count; n++) {
    const size = next();
    if (size === max) atMax += 1;
    const need = 8 + ((size + 7) & ~7);
    const toEnd = capacity - (position % capacity);
    if (need > toEnd) {
      wraps += 1;
      position += toEnd;
    }
    position += need;
  }
  return { wraps, atMax };
}

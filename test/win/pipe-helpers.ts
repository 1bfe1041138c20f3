// What the named pipe tests share: unique pipe names, and a peer in a second node.exe
// (test/fixtures/pipe-peer.js) that reports one JSON object a line.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { binding } from '../../lib/binding';
import type { NamedPipe, NamedPipeServer } from '../../lib/named-pipe';

let counter = 0;

/** A pipe name no other test (or run) uses: pid and a random suffix. */
export function pipeName(tag: string): string {
  counter += 1;
  return `\\\\.\\pipe\\ipckit-test-${tag}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Wine's version, or null on Windows: for the cases where Wine is known to differ. */
export const wine: string | null = binding.wineVersion?.() ?? null;

export interface Peer {
  child: ChildProcess;
  /** The next line the peer reports, parsed. */
  next(): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal) once the peer has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

const peers = new Set<ChildProcess>();

/** Starts test/fixtures/pipe-peer.js as `role` on `name`; killed after the test if still running. */
export function startPeer(role: string, name: string, ...args: string[]): Peer {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'fixtures', 'pipe-peer.js'), role, name, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  peers.add(child);
  let buffered = '';
  let errors = '';
  const lines: Record<string, unknown>[] = [];
  const waiting: ((line: Record<string, unknown>) => void)[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let at: number;
    while ((at = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, at)) as Record<string, unknown>;
      buffered = buffered.slice(at + 1);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': 'exit' may come before the last of the peer's output has been read.
    child.on('close', (code, signal) => {
      peers.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    child,
    next: () => {
      const line = lines.shift();
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        waiting.push(resolve);
        void exited.then(({ code }) => reject(new Error(`peer ${role} exited (${code}) before reporting: ${errors}`)));
      });
    },
    exited,
    stderr: () => errors,
  };
}

const opened: { close(): void }[] = [];

/** Closes what a test opened, whether it passed or not. */
export function track<T extends NamedPipe | NamedPipeServer>(handle: T): T {
  opened.push(handle);
  return handle;
}

afterEach(async () => {
  for (const handle of opened.splice(0)) handle.close();
  const exits: Promise<unknown>[] = [];
  for (const child of peers) {
    exits.push(new Promise((resolve) => child.once('close', resolve)));
    child.kill();
  }
  await Promise.all(exits);
});

/** Whether a promise is still pending after the event loop has had a few turns. */
export async function pending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return !settled;
}

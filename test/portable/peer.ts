// The second process of the portable tests (test/fixtures/portable-peer.js), started with the
// same node that runs the tests: Linux node, or Windows node.exe under the Windows suite.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fixtures, type RunResult } from '../helpers';

export interface PortablePeer {
  child: ChildProcess;
  /** Resolves once the peer printed "ready" (rejects if it exits first). */
  ready: Promise<void>;
  /** Resolves with its exit and output. */
  done: Promise<RunResult>;
}

export function startPortable(args: string[]): PortablePeer {
  const child = spawn(process.execPath, [path.join(fixtures, 'portable-peer.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
    if (stdout.split(/\r?\n/).includes('ready')) onReady();
  });
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const readyOrExit = Promise.race([
    ready,
    done.then((r) => Promise.reject(new Error(`peer ${args.join(' ')} exited (${r.code ?? r.signal}) before "ready": ${r.stdout}${r.stderr}`))),
  ]);
  // Only the modes that print "ready" are awaited on it; the others must not leave a rejection unhandled.
  readyOrExit.catch(() => {});
  return { child, ready: readyOrExit, done };
}

/** Runs the peer to its end; its last JSON line, with its exit code. */
export async function runPortable(args: string[]): Promise<Record<string, unknown> & { exit: number | null }> {
  const result = await startPortable(args).done;
  return { ...lastLine(result), exit: result.code };
}

export function lastLine(result: RunResult): Record<string, unknown> {
  const lines = result.stdout.trim().split(/\r?\n/);
  try {
    return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
  } catch {
    throw new Error(`no JSON report (exit ${result.code ?? result.signal}): ${result.stdout}${result.stderr}`);
  }
}

// Every README example runs as written, on its own, and cleans up after itself.
//
// Each fenced block tagged js/javascript or ts/typescript is one example, run as its own script
// in a child Node process. It must exit 0 within EXAMPLE_TIMEOUT, write nothing to stderr, and
// leave nothing behind. The Python recipe runs too, against an object Node created. A block
// whose fence directly follows `<!-- example: skip (reason) -->` is not run (keep those to the
// few that cannot run alone); one that follows `<!-- example: windows -->` uses the Windows-only
// classes, is type-checked here and run by the Windows suite (test/win/readme.test.ts). Shell blocks are commands, and the C recipe is a fragment
// without includes or main(), so neither is run. All examples are also type-checked against
// dist/'s declarations, which catches a missing require() that a try/catch would swallow.
//
// How an example runs:
// - JavaScript is run exactly as written. TypeScript goes through typescript's transpileModule
//   to CommonJS, target ES2022, which downlevels `using` into helper calls on Symbol.dispose.
//   Node defines Symbol.dispose and Symbol.asyncDispose since 20.4 (and ipckit's handles need
//   them anyway), so nothing is polyfilled: the first test checks they exist.
// - Everything runs as CommonJS, because the JavaScript examples use require(). CommonJS has no
//   top-level await, so the body is wrapped in an async function whose opening shares the
//   block's first line: line N in a JavaScript example's stack trace is README line fence + N.
//   An exit hook fails a process that exits with that body still pending (a wait whose handle
//   does not keep Node alive), as an ES module's unsettled top-level await would (exit 13).
// - `ipckit` resolves to this checkout: the scripts live in a folder whose node_modules/ipckit
//   is a symbolic link to the repository (its `exports` send require() to dist/index.js).
// - Leftovers: each example runs in its own IPC namespace and mount namespace (unshare, as in
//   kernel/shm.test.ts) with fresh tmpfs mounts on /dev/shm and /var/tmp (TMPDIR points there too) and
//   an mqueue file system, so POSIX queues can be listed. The objects listed before and after
//   (/dev/shm entries, which include semaphores' sem.NAME; POSIX queues; /proc/sysvipc/msg, sem
//   and shm; files in /var/tmp) are exactly the example's: other tests running at the same time
//   cannot add to them, and whatever a failing example leaves vanishes with its namespace.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { repoRoot } from '../helpers';
import { blocksOf, JS, script, TS, where, type Block } from '../readme-blocks';

const EXAMPLE_TIMEOUT = 30_000;
const readmePath = path.join(repoRoot, 'README.md');

const blocks = blocksOf(fs.readFileSync(readmePath, 'utf8'));
const examples = blocks.filter((b) => JS.has(b.lang) || TS.has(b.lang));
const windowsOnly = examples.filter((b) => b.windows && b.skip === undefined);
const runnable = examples.filter((b) => b.skip === undefined && !b.windows);
const skipped = examples.filter((b) => b.skip !== undefined);
const pythonBlocks = blocks.filter((b) => b.lang === 'python' || b.lang === 'py');
const notRun = blocks.filter((b) => !examples.includes(b) && !pythonBlocks.includes(b));

// Lists, one line each, every IPC object and temporary file in the namespace.
const LIST = `list() {
  ls -A /dev/shm | sed 's|^|/dev/shm/|'
  ls -A "$MQ" | sed 's|^|POSIX message queue /|'
  ls -A /var/tmp | sed 's|^|/var/tmp/|'
  awk 'NR > 1 { print "System V message queue key " $1 " id " $2 }' /proc/sysvipc/msg
  awk 'NR > 1 { print "System V semaphore set key " $1 " id " $2 }' /proc/sysvipc/sem
  awk 'NR > 1 { print "System V shared memory key " $1 " id " $2 }' /proc/sysvipc/shm
}`;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  left: string[];
}

// Our own folder, removed in afterAll: helpers' scratchDir() cleans up on process 'exit', which
// never fires inside a jest test environment.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ipckit-readme-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
fs.mkdirSync(path.join(scratch, 'node_modules'));
fs.symlinkSync(repoRoot, path.join(scratch, 'node_modules', 'ipckit'));

/** Runs `source` as `dir/name` with node, in fresh namespaces; reports what it left behind. */
function runIsolated(dir: string, name: string, source: string): Promise<Outcome> {
  fs.mkdirSync(path.join(dir, 'mqueue'), { recursive: true });
  fs.writeFileSync(path.join(dir, name), source);
  const shell = `set -e
${LIST}
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
mount -t mqueue mqueue "$MQ"
list > "$DIR/before"
set +e
"$NODE" "$DIR/$NAME"
rc=$?
list > "$DIR/after"
exit $rc`;
  // Root can make these namespaces directly; anyone else needs a user namespace as well.
  const args = [...(process.getuid!() === 0 ? [] : ['-r']), '--ipc', '--mount', 'sh', '-c', shell];
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', args, {
      cwd: dir,
      detached: true, // its own process group, so a timeout ends the example's children too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE: process.execPath, DIR: dir, NAME: name, MQ: path.join(dir, 'mqueue'), TMPDIR: '/var/tmp', NODE_OPTIONS: '' },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, EXAMPLE_TIMEOUT);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const read = (file: string) => {
        const p = path.join(dir, file);
        return fs.existsSync(p) ? fs.readFileSync(p, 'utf8').split('\n').filter(Boolean) : [];
      };
      const before = new Set(read('before'));
      resolve({ code, signal, timedOut, stdout, stderr, left: read('after').filter((entry) => !before.has(entry)) });
    });
  });
}

function expectClean(outcome: Outcome) {
  // One comparison, so a failure shows everything at once.
  expect({ timedOut: outcome.timedOut, code: outcome.code, signal: outcome.signal, stderr: outcome.stderr, left: outcome.left }).toEqual({
    timedOut: false,
    code: 0,
    signal: null,
    stderr: '',
    left: [],
  });
}

test("Node has Symbol.dispose and Symbol.asyncDispose, which the TypeScript examples' `using` needs", () => {
  expect(typeof Symbol.dispose).toBe('symbol');
  expect(typeof Symbol.asyncDispose).toBe('symbol');
});

const summary =
  `README.md: ${runnable.length} JavaScript/TypeScript examples run, ${windowsOnly.length} Windows examples left to the Windows suite (test/win/readme.test.ts), ${skipped.length} skipped` +
  (skipped.length ? ` (${skipped.map((b) => `line ${b.line}: ${b.skip}`).join('; ')})` : '') +
  `; ${pythonBlocks.length} Python run against Node's objects; not run: ` +
  (Object.entries(notRun.reduce<Record<string, number>>((n, b) => ({ ...n, [b.lang || 'untagged']: (n[b.lang || 'untagged'] ?? 0) + 1 }), {}))
    .map(([lang, n]) => `${n} ${lang}`)
    .join(', ') || 'none');

test(summary, () => {
  expect(runnable.length).toBeGreaterThan(0);
  // A skip marker must sit right before a JavaScript/TypeScript fence; anywhere else it is stale.
  const markers = fs
    .readFileSync(readmePath, 'utf8')
    .split('\n')
    .filter((line) => /<!--\s*example:/.test(line)).length;
  expect(markers).toBe(skipped.length + windowsOnly.length);
});

// Type-checking against ipckit's own declarations catches what running cannot always see: a
// missing require() inside an example's try/catch fails at run time with a ReferenceError that
// the catch swallows, and the example then "runs through" without showing what it documents.
test('every example type-checks against the declarations in dist/ (no undefined names, no wrong calls)', () => {
  const dir = path.join(scratch, 'typecheck');
  fs.mkdirSync(dir);
  const files = new Map<string, Block>();
  // The Windows examples are type-checked here too: their declarations are the same on Linux.
  for (const block of [...runnable, ...windowsOnly]) {
    const file = path.join(dir, `README.md-${block.line}.${TS.has(block.lang) ? 'ts' : 'js'}`);
    fs.writeFileSync(file, block.code);
    files.set(file, block);
  }
  const program = ts.createProgram([...files.keys()], {
    noEmit: true,
    allowJs: true,
    checkJs: true,
    moduleDetection: ts.ModuleDetectionKind.Force, // each example is its own scope
    module: ts.ModuleKind.ESNext, // top-level await; require() in JavaScript is still understood
    moduleResolution: ts.ModuleResolutionKind.Bundler, // follows ipckit's `exports` to its types
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
    types: ['node'],
    typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
    skipLibCheck: true,
    strict: false, // examples, not library code: no implicit-any noise
  });
  const problems = ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    const block = d.file && files.get(path.normalize(d.file.fileName));
    if (!block || d.start === undefined) return message;
    const { line } = d.file!.getLineAndCharacterOfPosition(d.start);
    return `README.md:${block.line + 1 + line} (${block.heading}): ${message}`;
  });
  expect(problems).toEqual([]);
});

describe.each(runnable.map((b) => [where(b), b] as const))('%s', (_name, block) => {
  test(
    'runs on its own: exit 0, nothing on stderr, nothing left behind',
    async () => {
      const dir = path.join(scratch, `line-${block.line}`);
      expectClean(await runIsolated(dir, 'example.js', script(block)));
    },
    EXAMPLE_TIMEOUT + 10_000,
  );
});

// The Python recipe attaches to an object Node created: a Node host creates it, runs the
// snippet with python3 (from PATH), and then checks that Python left the object to its owner
// (that is what the snippet's resource_tracker.unregister is for).
describe.each(pythonBlocks.map((b) => [where(b), b] as const))('%s', (_name, block) => {
  test(
    'runs against an object Node created, and leaves it to Node',
    async () => {
      const name = /SharedMemory\(name="([^"]+)"/.exec(block.code)?.[1];
      if (name === undefined) throw new Error(`${where(block)}: no SharedMemory(name="...") to create for it`);
      const host = `const { SharedMemory } = require('ipckit');
const { spawnSync } = require('node:child_process');
const shm = SharedMemory.create(${JSON.stringify(name)}, { size: 4096 });
try {
  shm.buffer.write('hello');
  const python = spawnSync('python3', ['-c', ${JSON.stringify(block.code)}], { encoding: 'utf8' });
  process.stdout.write(python.stdout);
  process.stderr.write(python.stderr);
  if (python.status !== 0) process.exitCode = 1;
  SharedMemory.open(${JSON.stringify(name)}).close(); // ENOENT if Python unlinked it
} finally {
  shm.close();
  SharedMemory.unlink(${JSON.stringify(name)});
}
`;
      const outcome = await runIsolated(path.join(scratch, `line-${block.line}`), 'host.js', host);
      expectClean(outcome);
      expect(outcome.stdout).toBe("4096 b'hello'\n");
    },
    EXAMPLE_TIMEOUT + 10_000,
  );
});

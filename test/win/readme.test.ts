// The README's Windows examples (a fence right after `<!-- example: windows -->`), each run as
// written, on its own, by the node.exe that runs this suite: exit 0 and nothing on stderr.
// Windows objects go away with the last handle to them, so an example that exits leaves no
// object behind; what it must not leave is a pending wait (the exit hook of script() catches
// one) or a child process (each example runs in its own process, killed at the timeout).
// test/package/readme.test.ts runs the rest on Linux and type-checks these too.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers';
import { blocksOf, JS, script, TS, where } from '../readme-blocks';

const EXAMPLE_TIMEOUT = 30_000;
const examples = blocksOf(fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8')).filter(
  (b) => b.windows && b.skip === undefined && (JS.has(b.lang) || TS.has(b.lang)),
);

// `ipckit` resolves to this checkout through a package of shims (node.exe under Wine cannot be
// relied on to make symbolic links): each entry of package.json's exports re-exports dist/.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ipckit-win-readme-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
const shim = path.join(scratch, 'node_modules', 'ipckit');
fs.mkdirSync(shim, { recursive: true });
const entries: Record<string, string> = { '.': 'index.js', './windows': 'windows.js', './posix': 'posix.js' };
fs.writeFileSync(
  path.join(shim, 'package.json'),
  JSON.stringify({ name: 'ipckit', exports: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, `./${v}`])) }),
);
for (const file of Object.values(entries)) {
  fs.writeFileSync(path.join(shim, file), `module.exports = require(${JSON.stringify(path.join(repoRoot, 'dist', file))});\n`);
}

test('the README has Windows examples for named pipes and mailslots', () => {
  expect(examples.map((b) => b.heading)).toEqual(
    expect.arrayContaining([expect.stringContaining('NamedPipe.connect'), expect.stringContaining('Mailslot.create')]),
  );
});

describe.each(examples.map((b) => [where(b), b] as const))('%s', (_name, block) => {
  test(
    'runs on its own in node.exe: exit 0, nothing on stderr',
    async () => {
      const file = path.join(scratch, `example-${block.line}.js`);
      fs.writeFileSync(file, script(block));
      const child = spawn(process.execPath, [file], { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (chunk) => (stdout += chunk));
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill();
      }, EXAMPLE_TIMEOUT);
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      clearTimeout(timer);
      expect({ timedOut, code, stderr }).toEqual({ timedOut: false, code: 0, stderr: '' });
      expect(stdout.length).toBeGreaterThan(0);
      if (process.env.IPCKIT_SHOW) console.log(stdout);
    },
    EXAMPLE_TIMEOUT + 10_000,
  );
});

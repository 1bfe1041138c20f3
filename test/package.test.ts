// The package as users get it: `npm run prebuild` writes prebuilds/linux-x64, `npm pack` ships it,
// and installing the tarball loads that prebuild without compiling anything. Works on a copy of
// the sources so the checkout's own build is left alone.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './helpers';

jest.setTimeout(300_000);

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });

let work: string;
let app: string;
let installLog: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ipckit-pack-'));
  const src = path.join(work, 'src');
  fs.mkdirSync(src);
  for (const part of ['package.json', 'binding.gyp', 'native', 'lib', 'tsconfig.json', 'tsconfig.build.json', 'wrapper.mjs', 'posix.mjs', 'README.md']) {
    fs.cpSync(path.join(repoRoot, part), path.join(src, part), { recursive: true });
  }
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(src, 'node_modules'));
  npm(['run', 'prebuild'], src);
  expect(fs.existsSync(path.join(src, 'prebuilds', 'linux-x64', 'ipckit.node'))).toBe(true);
  const tarball = npm(['pack', '--silent', '--pack-destination', work], src).trim().split('\n').pop()!;
  app = path.join(work, 'app');
  fs.mkdirSync(app);
  // npm 11 skips dependencies' install scripts unless allowed; allow ipckit's so its
  // `node-gyp-build` runs and has the chance to compile (it must not need to).
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, allowScripts: { ipckit: true } }));
  installLog = npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', path.join(work, tarball)], app);
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the installed package loads the prebuild and compiled nothing', () => {
  const installed = path.join(app, 'node_modules', 'ipckit');
  expect(installLog).toContain('node-gyp-build');
  expect(installLog).not.toMatch(/gyp info|CXX\(target\)/);
  expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
  const loaded = execFileSync(process.execPath, ['-p', `require('node-gyp-build').path(${JSON.stringify(installed)})`], { cwd: app, encoding: 'utf8' }).trim();
  expect(loaded).toBe(path.join(installed, 'prebuilds', 'linux-x64', 'ipckit.node'));
  // Only what users need is in the tarball.
  expect(fs.existsSync(path.join(installed, 'test'))).toBe(false);
  expect(fs.existsSync(path.join(installed, 'dist', 'index.d.ts'))).toBe(true);
});

test('require() and import both work from the installed package, and share one object model', () => {
  const name = `/ipckit-pack-${process.pid}`;
  const cjs = `
    const { SharedMemory } = require('ipckit');
    const shm = SharedMemory.create(${JSON.stringify(name)}, { size: 32 });
    shm.buffer.write('from cjs');
    shm.close();`;
  const esm = `
    import { SharedMemory, ErrorCodes } from 'ipckit';
    import ipckit from 'ipckit';
    import { SysVMessageQueue } from 'ipckit/posix';
    if (SysVMessageQueue !== ipckit.SysVMessageQueue) throw new Error('ipckit/posix differs from the root');
    const shm = SharedMemory.open(${JSON.stringify(name)});
    console.log(shm.buffer.toString('utf8', 0, 8), ErrorCodes.CLOSED, ipckit.SharedMemory === SharedMemory);
    shm.close();
    SharedMemory.unlink(${JSON.stringify(name)});`;
  try {
    execFileSync(process.execPath, ['-e', cjs], { cwd: app });
    expect(execFileSync(process.execPath, ['-p', "require('ipckit/posix').PosixMessageQueue === require('ipckit').PosixMessageQueue"], { cwd: app, encoding: 'utf8' })).toBe('true\n');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', esm], { cwd: app, encoding: 'utf8' });
    expect(out).toBe('from cjs ERR_IPC_CLOSED true\n');
  } finally {
    fs.rmSync(`/dev/shm${name}`, { force: true });
  }
});

test('the generated type declarations type-check a consumer', () => {
  const consumer = path.join(app, 'consumer.ts');
  fs.writeFileSync(
    consumer,
    `import { SharedMemory, MappedFile, type SystemError } from 'ipckit';
     export function use(): number {
       using shm = SharedMemory.openOrCreate('x', { size: 8, mode: 0o600 });
       const ints: Int32Array = shm.view(Int32Array, 0, 2);
       const dv: DataView = shm.view(DataView);
       const f: MappedFile | null = null;
       const e: SystemError | null = null;
       return ints.length + dv.byteLength + (f ? 1 : 0) + (e ? 1 : 0) + shm.stat().mode;
     }
     // @ts-expect-error size is required
     SharedMemory.create('y', {});
    `,
  );
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [tsc, '--noEmit', '--strict', '--target', 'ES2022', '--lib', 'ES2022,ESNext.Disposable', '--module', 'commonjs', '--types', 'node', '--typeRoots', path.join(repoRoot, 'node_modules', '@types'), consumer];
  expect(() => execFileSync(process.execPath, args, { cwd: app, encoding: 'utf8' })).not.toThrow();
});

// The package as users get it: `npm pack` runs the prepack script, which builds
// prebuilds/linux-x64/ipckit.node and refuses to go on without it; the tarball carries it; and
// installing the tarball on a machine with no compiler loads that prebuild without compiling
// anything. Works on a copy of the sources (without any prebuild, as a clean checkout has) so the
// checkout's own build is left alone.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers';

jest.setTimeout(300_000);

const prebuild = path.join('prebuilds', 'linux-x64', 'ipckit.node');
const winPrebuild = path.join('prebuilds', 'win32-x64', 'ipckit.node');
const compilerTools = ['cc', 'c++', 'gcc', 'g++', 'make', 'python3', 'python'];

interface Ran {
  status: number | null;
  out: string;
}
/** Runs a command to completion; stdout and stderr together in `out`. */
function ran(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Ran {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}
function ok(r: Ran, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited with ${r.status}:\n${r.out.slice(-4000)}`);
  return r.out;
}
function which(tool: string): string {
  return execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
}

/** The real interpreter behind `python3` (which may be a shim script that needs a full PATH). */
function pythonExecutable(): string {
  return fs.realpathSync(execFileSync(which('python3'), ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim());
}

const normalEnv = { ...process.env, npm_config_update_notifier: 'false' };

let work: string;
let src: string;
let tarball: string;
let packLog: string;
let tarList: string[];
let app: string;
let installLog: string;
// A machine without a compiler: PATH is one directory holding node, npm and sh and nothing else
// (no coreutils are needed). node is a hard link (or copy), not a symlink, so process.execPath
// points into that directory too: tools that put dirname(process.execPath) on PATH (npm-run-path,
// which prebuildify uses) would otherwise bring /usr/bin and its compilers back. The rest of the
// environment is dropped too (CC, CXX, PYTHON, MAKE...), keeping HOME for npm's cache and npm's
// own settings apart from the two that would point node-gyp at a build.
let bareBin: string;
let bareEnv: NodeJS.ProcessEnv;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ipckit-pack-'));
  src = path.join(work, 'src');
  fs.mkdirSync(src);
  for (const part of [
    'package.json',
    'bin',
    'binding.gyp',
    'native',
    'lib',
    'scripts',
    'tsconfig.json',
    'tsconfig.build.json',
    'wrapper.mjs',
    'posix.mjs',
    'windows.mjs',
    'README.md',
  ]) {
    fs.cpSync(path.join(repoRoot, part), path.join(src, part), { recursive: true });
  }
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(src, 'node_modules'));
  expect(fs.existsSync(path.join(src, 'prebuilds'))).toBe(false);

  const dest = path.join(work, 'tarball');
  fs.mkdirSync(dest);
  packLog = ok(ran('npm', ['pack', '--pack-destination', dest], src, normalEnv), 'npm pack');
  const made = fs.readdirSync(dest);
  expect(made).toEqual([expect.stringMatching(/^ipckit-.*\.tgz$/)]);
  tarball = path.join(dest, made[0]);
  tarList = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);

  bareBin = path.join(work, 'bin');
  fs.mkdirSync(bareBin);
  try {
    fs.linkSync(process.execPath, path.join(bareBin, 'node'));
  } catch {
    fs.copyFileSync(process.execPath, path.join(bareBin, 'node'));
    fs.chmodSync(path.join(bareBin, 'node'), 0o755);
  }
  fs.symlinkSync(fs.realpathSync(which('npm')), path.join(bareBin, 'npm'));
  fs.symlinkSync('/bin/sh', path.join(bareBin, 'sh'));
  bareEnv = { PATH: bareBin, npm_config_update_notifier: 'false' };
  for (const key of ['HOME', 'USER', 'LANG', 'TMPDIR']) if (process.env[key] !== undefined) bareEnv[key] = process.env[key];
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_config_/i.test(key) && !/^npm_config_(python|build_from_source|update_notifier)$/i.test(key)) bareEnv[key] = value;
  }

  app = path.join(work, 'app');
  fs.mkdirSync(app);
  // npm 11 runs a dependency's install scripts only when allowScripts covers it; a tarball is
  // covered by its resolved `file:` spec (a bare name covers registry packages only). Allowed, so
  // ipckit's `node-gyp-build` runs and has the chance to compile (it must not need to).
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', private: true, allowScripts: { [`file:${tarball}`]: true } }),
  );
  installLog = ok(
    ran('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', tarball], app, bareEnv),
    'npm install without a compiler',
  );
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('npm pack builds the prebuild in prepack, checks it, and the tarball carries it', () => {
  expect(packLog).toContain('> prebuildify --napi --strip && node scripts/win/build.js && node scripts/check-prebuild.js');
  expect(packLog).toContain(`prepack: ${prebuild} present`);
  expect(packLog).toContain(`prepack: ${winPrebuild} present (`);
  expect(packLog).toMatch(/an x86-64 DLL importing [^\n]*node\.exe/);
  expect(tarList).toContain(`package/${prebuild}`);
  expect(tarList).toContain(`package/${winPrebuild}`);
  expect(tarList).toContain('package/dist/index.js');
  expect(tarList).toContain('package/binding.gyp');
  expect(tarList).toContain('package/bin/ipckit.js');
  // Only what users need.
  expect(tarList.filter((f) => /^package\/(test|scripts|lib|build)\//.test(f))).toEqual([]);
});

test('control: the install environment has no compiler, and a forced build from source fails there', () => {
  const found = ran('/bin/sh', ['-c', compilerTools.map((t) => `command -v ${t}`).join('; ')], work, bareEnv);
  expect(found.out.trim()).toBe('');
  // The same install, told to build from source instead of using the prebuild, and handed a
  // Python so node-gyp gets past configure: it fails at the build step for want of make.
  const forced = path.join(work, 'forced');
  fs.mkdirSync(forced);
  fs.writeFileSync(path.join(forced, 'package.json'), fs.readFileSync(path.join(app, 'package.json')));
  const env = { ...bareEnv, npm_config_build_from_source: 'true', npm_config_python: pythonExecutable() };
  const r = ran('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', tarball], forced, env);
  expect(r.status).not.toBe(0);
  expect(r.out).toMatch(/gyp info spawn .*python3/);
  expect(r.out).toContain('not found: make');
  expect(fs.existsSync(path.join(forced, 'node_modules', 'ipckit', 'build', 'Release', 'ipckit.node'))).toBe(false);
});

test('the installed package loads the prebuild and compiled nothing', () => {
  const installed = path.join(app, 'node_modules', 'ipckit');
  expect(installLog).toContain('> node-gyp-build');
  expect(installLog).not.toMatch(/gyp info|CXX\(target\)|not yet covered by allowScripts/);
  expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
  const loaded = ok(ran('node', ['-p', `require('node-gyp-build').path(${JSON.stringify(installed)})`], app, bareEnv), 'node-gyp-build path').trim();
  expect(loaded).toBe(path.join(installed, prebuild));
  expect(fs.existsSync(path.join(installed, 'test'))).toBe(false);
  expect(fs.existsSync(path.join(installed, 'dist', 'index.d.ts'))).toBe(true);
});

test('with no compiler on PATH, the installed package creates a SharedMemory in one process and reads it in another', () => {
  const name = `/ipckit-pack-bare-${process.pid}`;
  const create = `
    const { SharedMemory } = require('ipckit');
    const shm = SharedMemory.create(${JSON.stringify(name)}, { size: 64 });
    shm.buffer.write('made without a compiler');
    console.log(shm.buffer.toString('utf8', 0, 23));
    shm.close();`;
  const read = `
    const { SharedMemory } = require('ipckit');
    const shm = SharedMemory.open(${JSON.stringify(name)});
    console.log(shm.size, shm.buffer.toString('utf8', 0, 23));
    shm.close();
    SharedMemory.unlink(${JSON.stringify(name)});`;
  try {
    expect(ok(ran('node', ['-e', create], app, bareEnv), 'create').trim()).toBe('made without a compiler');
    expect(ok(ran('node', ['-e', read], app, bareEnv), 'read').trim()).toBe('64 made without a compiler');
    expect(fs.existsSync(`/dev/shm${name}`)).toBe(false);
  } finally {
    fs.rmSync(`/dev/shm${name}`, { force: true });
  }
});

test("with no compiler on PATH, the installed package's ipckit command lists and removes an object; bench says where the suite is", () => {
  const name = `/ipckit-pack-cli-${process.pid}`;
  const command = path.join(app, 'node_modules', '.bin', 'ipckit');
  try {
    ok(ran('node', ['-e', `require('ipckit').SharedMemory.create(${JSON.stringify(name)}, { size: 128 }).close()`], app, bareEnv), 'create');
    const listed = JSON.parse(ok(ran(command, ['ls', '--json', '--kind', 'posix-shm'], app, bareEnv), 'ipckit ls').split('\n\n')[0]);
    expect(listed.objects.find((o: { name: string }) => o.name === name)).toMatchObject({ kind: 'posix-shm', size: 128 });
    expect(ok(ran(command, ['rm', name, '--yes'], app, bareEnv), 'ipckit rm')).toContain(`removed POSIX shared memory ${name}`);
    expect(fs.existsSync(`/dev/shm${name}`)).toBe(false);
    const bench = ran(command, ['bench'], app, bareEnv);
    expect(bench.status).toBe(1);
    expect(bench.out).toMatch(/not part of the installed package/);
  } finally {
    fs.rmSync(`/dev/shm${name}`, { force: true });
  }
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
    import { Mailslot, NamedPipeServer } from 'ipckit/windows';
    if (Mailslot !== ipckit.Mailslot || NamedPipeServer !== ipckit.NamedPipeServer) throw new Error('ipckit/windows differs from the root');
    const shm = SharedMemory.open(${JSON.stringify(name)});
    console.log(shm.buffer.toString('utf8', 0, 8), ErrorCodes.CLOSED, ipckit.SharedMemory === SharedMemory);
    shm.close();
    SharedMemory.unlink(${JSON.stringify(name)});`;
  try {
    execFileSync(process.execPath, ['-e', cjs], { cwd: app });
    expect(
      execFileSync(process.execPath, ['-p', "require('ipckit/posix').PosixMessageQueue === require('ipckit').PosixMessageQueue"], {
        cwd: app,
        encoding: 'utf8',
      }),
    ).toBe('true\n');
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
  const args = [
    tsc,
    '--noEmit',
    '--strict',
    '--target',
    'ES2022',
    '--lib',
    'ES2022,ESNext.Disposable',
    '--module',
    'commonjs',
    '--types',
    'node',
    '--typeRoots',
    path.join(repoRoot, 'node_modules', '@types'),
    consumer,
  ];
  expect(() => execFileSync(process.execPath, args, { cwd: app, encoding: 'utf8' })).not.toThrow();
});

test('the prepack check refuses a missing or foreign prebuild', () => {
  const check = path.join(src, 'scripts', 'check-prebuild.js');
  const empty = path.join(work, 'no-prebuild');
  fs.mkdirSync(empty);
  const missing = ran(process.execPath, [check, empty], work, normalEnv);
  expect(missing.status).toBe(1);
  expect(missing.out).toMatch(/prepack: .*ipckit\.node is missing \(ENOENT\)[\s\S]*refusing to pack/);
  fs.mkdirSync(path.join(empty, 'prebuilds', 'linux-x64'), { recursive: true });
  fs.writeFileSync(path.join(empty, prebuild), 'not a shared object');
  const foreign = ran(process.execPath, [check, empty], work, normalEnv);
  expect(foreign.status).toBe(1);
  expect(foreign.out).toContain('is not a 64-bit little-endian ELF file');
  expect(ok(ran(process.execPath, [check, src], work, normalEnv), 'check of the real prebuild')).toContain('present');
});

test('npm pack fails, and writes no tarball, when prepack cannot build the prebuild (a stale one is not shipped)', () => {
  expect(fs.existsSync(path.join(src, prebuild))).toBe(true); // left by the pack above
  const dest = path.join(work, 'no-tarball');
  fs.mkdirSync(dest);
  const r = ran('npm', ['pack', '--pack-destination', dest], src, bareEnv);
  expect(r.status).not.toBe(0);
  expect(r.out).toMatch(/npm error command sh -c prebuildify --napi --strip/);
  expect(fs.readdirSync(dest)).toEqual([]);
});

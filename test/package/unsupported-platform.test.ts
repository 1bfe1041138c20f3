// The build for a platform ipckit does not support yet (binding.gyp's OS!='linux' and OS!='win' branch:
// native/common/ plus native/stub/platform.cc) must link with nothing missing, load, list no
// features, and make every factory throw ERR_IPC_UNSUPPORTED_PLATFORM: that is what lets the
// package install everywhere (package.json has no "os" field) without pretending to work.
// Compiled here with the same sources and defines, since this machine can only build for Linux.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, run, scratchDir } from '../helpers';

test('the stub platform links, loads and refuses every primitive with ERR_IPC_UNSUPPORTED_PLATFORM', async () => {
  const gyp = fs.readFileSync(path.join(repoRoot, 'binding.gyp'), 'utf8');
  expect(gyp).toContain("\"OS!='linux' and OS!='win'\"");
  expect(gyp).toContain('native/stub/platform.cc');
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  expect(pkg.os).toBeUndefined();

  const stage = scratchDir();
  fs.mkdirSync(path.join(stage, 'build', 'Release'), { recursive: true });
  const native = path.join(repoRoot, 'native');
  const sources = ['addon.cc', 'common/constants.cc', 'common/errors.cc', 'common/mapping.cc', 'common/waiter.cc', 'stub/platform.cc'].map((s) =>
    path.join(native, s),
  );
  const nodeHeaders = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node');
  const headers = fs.existsSync(path.join(nodeHeaders, 'node_api.h')) ? nodeHeaders : '/usr/include/node';
  execFileSync('g++', [
    '-std=c++17',
    '-shared',
    '-fPIC',
    '-fvisibility=hidden',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-DNAPI_VERSION=8',
    '-DNODE_ADDON_API_DISABLE_DEPRECATED',
    '-DNAPI_CPP_EXCEPTIONS',
    '-DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS',
    `-I${native}`,
    `-I${path.join(native, 'include')}`,
    `-I${path.dirname(require.resolve('node-addon-api/package.json'))}`,
    `-I${headers}`,
    ...sources,
    '-o',
    path.join(stage, 'build', 'Release', 'ipckit.node'),
  ]);
  // Node provides napi_* when it loads the addon, and the C and C++ runtimes the rest: anything
  // of ipckit's own left undefined means a platform hook the stub forgot.
  const undefinedSymbols = execFileSync('nm', ['-u', '-C', path.join(stage, 'build', 'Release', 'ipckit.node')], { encoding: 'utf8' });
  expect(undefinedSymbols).toMatch(/napi_create_function/);
  expect(undefinedSymbols.split('\n').filter((line) => line.includes('ipckit'))).toEqual([]);
  fs.cpSync(path.join(repoRoot, 'dist'), path.join(stage, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(stage, 'package.json'));
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(stage, 'node_modules'));
  const script = `
    const { binding } = require('./dist/binding');
    const ipc = require('./dist');
    const codes = [
      () => ipc.SharedMemory.create('/ipckit-stub', { size: 4096 }),
      () => ipc.MappedFile.open('/tmp/ipckit-stub'),
      () => ipc.SysVMessageQueue.createPrivate(),
      () => ipc.SysVSemaphoreSet.createPrivate({ count: 1 }),
      () => ipc.Semaphore.create('/ipckit-stub'),
      () => ipc.PosixMessageQueue.create('/ipckit-stub'),
      () => ipc.ftok('/tmp', 1),
    ].map((f) => { try { f(); return 'no error'; } catch (e) { return e.code; } });
    console.log(JSON.stringify({ platform: binding.platform, features: binding.features, codes }));`;
  const result = await run(process.execPath, ['-e', script], { cwd: stage });
  expect(result.stderr).toBe('');
  expect(JSON.parse(result.stdout)).toEqual({ platform: 'unsupported', features: {}, codes: Array(7).fill('ERR_IPC_UNSUPPORTED_PLATFORM') });
  // Nothing was created along the way.
  expect(fs.existsSync('/dev/shm/ipckit-stub')).toBe(false);
  expect(fs.existsSync('/tmp/ipckit-stub')).toBe(false);
}, 180_000);

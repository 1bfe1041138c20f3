// The package as a Windows user installs it. scripts/win/test.sh packs the checkout with `npm pack`
// on Linux (prepack builds both prebuilds) and hands the tarball over as IPCKIT_WIN_TARBALL; here,
// in the Windows node.exe, it is unpacked into an application's node_modules, as npm on Windows
// would, beside node-gyp-build (its one runtime dependency that matters), with no compiler in
// sight and no build/ folder: node-gyp-build must find prebuilds/win32-x64/ipckit.node by itself
// (PREBUILDS_ONLY is dropped), and two processes of the application share memory through it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { repoRoot } from '../helpers';

const tarball = process.env.IPCKIT_WIN_TARBALL;

/** Unpacks a gzipped ustar archive (npm's format): regular files and directories only. */
function untar(file: string, into: string): string[] {
  const data = zlib.gunzipSync(fs.readFileSync(file));
  const names: string[] = [];
  for (let at = 0; at + 512 <= data.length;) {
    const header = data.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) => header.toString('utf8', start, start + length).replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 0x30);
    at += 512;
    const target = path.join(into, ...name.split('/'));
    expect(path.relative(into, target).startsWith('..')).toBe(false);
    if (type === '0' || type === '\0') {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, data.subarray(at, at + size));
      names.push(name);
    } else if (type === '5') {
      fs.mkdirSync(target, { recursive: true });
    }
    at += Math.ceil(size / 512) * 512;
  }
  return names;
}

const describeIfPacked = tarball ? describe : describe.skip;
if (!tarball) {
  test('the tarball test needs IPCKIT_WIN_TARBALL (npm run test:win sets it)', () => {
    // Run through npm run test:win, which packs first; a bare jest run reports this as a failure.
    expect(tarball).toBeDefined();
  });
}

describeIfPacked('the packed tarball on Windows', () => {
  let app: string;
  beforeAll(() => {
    app = fs.mkdtempSync(path.join(os.tmpdir(), 'ipckit-win-app-'));
    const installed = path.join(app, 'node_modules', 'ipckit');
    const files = untar(tarball!, path.join(app, 'unpacked'));
    expect(files).toContain('package/prebuilds/win32-x64/ipckit.node');
    expect(files).toContain('package/prebuilds/linux-x64/ipckit.node');
    fs.mkdirSync(path.dirname(installed), { recursive: true });
    fs.renameSync(path.join(app, 'unpacked', 'package'), installed);
    fs.cpSync(path.join(repoRoot, 'node_modules', 'node-gyp-build'), path.join(app, 'node_modules', 'node-gyp-build'), { recursive: true });
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, dependencies: { ipckit: '*' } }));
  });
  afterAll(() => {
    if (app) fs.rmSync(app, { recursive: true, force: true });
  });

  test('node-gyp-build picks the win32-x64 prebuild, and two processes share memory through it', () => {
    const env = { ...process.env };
    delete env.PREBUILDS_ONLY;
    const name = `/ipckit-win-pack-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const script = `
      const { spawnSync } = require('node:child_process');
      const ipc = require('ipckit');
      const where = require('node-gyp-build').path(require('node:path').dirname(require.resolve('ipckit/package.json')));
      const shm = ipc.SharedMemory.create(${JSON.stringify(name)}, { size: 4096 });
      shm.buffer.write('from the parent');
      const child = spawnSync(process.execPath, ['-e', \`
        const ipc = require('ipckit');
        const shm = ipc.SharedMemory.open(${JSON.stringify(name)});
        const got = shm.buffer.toString('utf8', 0, 15);
        shm.buffer.write('from the child!', 16);
        const size = shm.size;
        shm.close();
        console.log(JSON.stringify({ got, size }));
      \`], { encoding: 'utf8' });
      const back = shm.buffer.toString('utf8', 16, 31);
      shm.close();
      console.log(JSON.stringify({ where, child: child.stdout.trim(), childStatus: child.status, stderr: child.stderr, back }));
    `;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: app, env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(path.relative(app, out.where).split(path.sep)).toEqual(['node_modules', 'ipckit', 'prebuilds', 'win32-x64', 'ipckit.node']);
    expect({ status: out.childStatus, stderr: out.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(out.child)).toEqual({ got: 'from the parent', size: 4096 });
    expect(out.back).toBe('from the child!');
    expect(fs.existsSync(path.join(app, 'node_modules', 'ipckit', 'build'))).toBe(false);
  });

  test("ipckit/windows, by require and import, is the root's: a mailslot message goes through the installed package", () => {
    const env = { ...process.env };
    delete env.PREBUILDS_ONLY;
    const name = `ipckit-win-pack-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const script = `
      import { Mailslot } from 'ipckit/windows';
      import ipckit from 'ipckit';
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const same = Mailslot === ipckit.Mailslot && require('ipckit/windows').Mailslot === Mailslot;
      const slot = Mailslot.create(${JSON.stringify(name)});
      require('ipckit/windows').Mailslot.send(${JSON.stringify(name)}, 'through the package');
      const got = (await slot.receive({ timeout: 5000 })).toString();
      slot.close();
      console.log(JSON.stringify({ same, got }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ same: true, got: 'through the package' });
  });
});

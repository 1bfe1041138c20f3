// The ipckit command as a user meets it: --help on every subcommand, exit statuses (0 done, 1
// failed, 2 bad command line) with errors on stderr, the aligned table and the --json shapes, rm's
// confirmation (refused off a terminal, asked on one), names that try to leave the IPC namespace,
// and another user's objects, which it must refuse to remove with the kernel's coded error.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SharedMemory, SysVMessageQueue, SysVSharedMemory, limits } from '../../lib';
import { isRoot, python, pythonDir, repoRoot, run, shmNames, stagePackage, sysvKey, type RunResult } from '../helpers';

const bin = path.join(repoRoot, 'bin', 'ipckit.js');
const newName = shmNames('cli');
const ipckit = (...args: string[]): Promise<RunResult> => run(process.execPath, [bin, ...args], { timeout: 60000 });

describe('command line', () => {
  test('--help on every subcommand, and help SUBCOMMAND, print its usage and exit 0', async () => {
    const main = await ipckit('--help');
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/^Usage: ipckit <command>/);
    for (const command of ['ls', 'stat', 'rm', 'limits', 'bench']) {
      for (const args of [
        [command, '--help'],
        [command, '-h'],
        ['help', command],
      ]) {
        const result = await ipckit(...args);
        expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: '' });
        expect(result.stdout).toMatch(new RegExp(`^Usage: ipckit ${command}`));
      }
    }
  });

  test('a wrong command line exits 2 with the reason on stderr and nothing on stdout', async () => {
    for (const args of [
      [],
      ['frob'],
      ['ls', '--bogus'],
      ['ls', 'extra'],
      ['ls', '--kind', 'shm'],
      ['stat'],
      ['stat', '0'],
      ['stat', '--id', 'abc'],
      ['rm', '/x', '--id', '3'],
      ['help', 'frob'],
      ['stat', '0x1ffffffff'],
    ]) {
      const result = await ipckit(...args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).not.toBe('');
      if (args.length > 0 && args[0] !== 'help') expect(result.stdout).toBe('');
    }
  });

  test('an object that does not exist: exit 1, ERR_IPC_NOT_FOUND on stderr', async () => {
    const result = await ipckit('stat', newName());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ERR_IPC_NOT_FOUND/);
    expect(result.stdout).toBe('');
  });
});

describe('output', () => {
  test('ls is a table whose every column starts where its heading does', async () => {
    const names = [newName(), `${newName()}-with-a-much-longer-name`];
    const made = names.map((name, i) => SharedMemory.create(name, { size: 1000 * (i + 1), mode: i === 0 ? 0o644 : 0o600 }));
    try {
      const result = await ipckit('ls', '--kind', 'posix-shm,sysv-shm');
      expect(result.code).toBe(0);
      const lines = result.stdout.trimEnd().split('\n');
      const header = lines[0];
      expect(header.split(/\s{2,}/)).toEqual(['KIND', 'NAME/KEY', 'ID', 'OWNER', 'GROUP', 'MODE', 'SIZE', 'USE', 'PIDS', 'NOTE']);
      const starts = ['NAME/KEY', 'ID', 'OWNER', 'GROUP', 'MODE', 'SIZE', 'USE', 'PIDS'].map((h) => header.indexOf(h));
      for (const line of lines.slice(1)) {
        for (const start of starts) {
          expect({ line, start, before: line[start - 1], at: line[start] !== ' ' }).toEqual({ line, start, before: ' ', at: true });
        }
      }
      const row = lines.find((l) => l.includes(`${names[0]} `))!;
      expect(row).toMatch(/^posix-shm +\/\S+ +- +\S+ +\S+ +0644 rw-r--r-- +1000 B +- +- +world-readable$/);
      expect(lines.find((l) => l.includes(names[1]))).toMatch(/0600 rw------- +2000 B/);
    } finally {
      for (const m of made) m.close();
    }
  });

  test('ls --json is { objects, unlisted } with every field; limits --json is { limits, usage }', async () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 4096 });
    const ls = JSON.parse((await ipckit('ls', '--json')).stdout);
    expect(Object.keys(ls)).toEqual(['objects', 'unlisted']);
    const mine = ls.objects.find((o: { name: string }) => o.name === name);
    expect(mine).toMatchObject({ kind: 'posix-shm', size: 4096, mode: 0o600, key: null });
    expect(Object.keys(mine)).toHaveLength(27);
    for (const u of ls.unlisted) expect(Object.keys(u)).toEqual(['kind', 'reason']);
    const lim = JSON.parse((await ipckit('limits', '--json')).stdout);
    expect(Object.keys(lim)).toEqual(['limits', 'usage']);
    const here = limits();
    expect(lim.limits).toMatchObject({
      msgmax: here.msgmax,
      msgmnb: here.msgmnb,
      msg_max: here.msg_max,
      msgsize_max: here.msgsize_max,
      semmni: here.semmni,
      shmmni: here.shmmni,
    });
    // Usage counts what list() sees (other tests make objects meanwhile, so only the shape is fixed here).
    expect(Object.keys(lim.usage)).toEqual(['msgmni', 'msgBytes', 'semmni', 'semmns', 'shmmni', 'shmBytes', 'shmPages', 'posixQueues', 'devShmUsed']);
    expect(lim.usage.devShmUsed).toBeGreaterThanOrEqual(4096);
    expect(shm.size).toBe(4096);
  });

  test('limits prints every limit with its setting', async () => {
    const result = await ipckit('limits');
    expect(result.code).toBe(0);
    const rows = result.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s{2,}/)[0]);
    expect(rows).toEqual([
      'LIMIT',
      'msgmax',
      'msgmnb',
      'msgmni',
      'msg_max',
      'msgsize_max',
      'queues_max',
      'msg_default',
      'msgsize_default',
      'rlimitMsgqueue',
      'semmsl',
      'semmns',
      'semopm',
      'semmni',
      'semValueMax',
      'shmmax',
      'shmall',
      'shmmni',
      'devShm',
    ]);
    expect(result.stdout).toMatch(new RegExp(`^msgmax +${limits().msgmax} `, 'm'));
  });

  test('stat of a System V key shows every object made with it; --id reaches a private one', async () => {
    const key = sysvKey();
    const queue = SysVMessageQueue.create(key);
    const segment = SysVSharedMemory.create(key, { size: 4096 });
    const priv = SysVSharedMemory.createPrivate({ size: 8192 });
    try {
      const byKey = await ipckit('stat', `0x${key.toString(16)}`);
      expect(byKey.code).toBe(0);
      expect(byKey.stdout).toMatch(new RegExp(`^System V shared memory key 0x${key.toString(16).padStart(8, '0')} id ${segment.id}$`, 'm'));
      expect(byKey.stdout).toMatch(new RegExp(`^System V message queue key .* id ${queue.id}$`, 'm'));
      expect(byKey.stdout).toMatch(new RegExp(`^ +${process.pid} +node `, 'm')); // this process holds the segment
      const byId = JSON.parse((await ipckit('stat', '--id', String(priv.id), '--json')).stdout);
      expect(byId.objects.map((o: { key: number; size: number }) => [o.key, o.size])).toEqual([[0, 8192]]);
    } finally {
      queue.remove();
      segment.close();
      SysVSharedMemory.remove(key);
      priv.remove();
      priv.close();
    }
  });
});

describe('rm', () => {
  test('refuses to remove without --yes when stdin is not a terminal', async () => {
    const name = newName();
    SharedMemory.create(name, { size: 10 }).close();
    const result = await ipckit('rm', name);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--yes/);
    expect(fs.existsSync(`/dev/shm${name}`)).toBe(true);
  });

  test('asks on a terminal: "n" removes nothing, "y" removes', async () => {
    const name = newName();
    SharedMemory.create(name, { size: 10 }).close();
    const no = await run(python, [path.join(pythonDir, 'pty_run.py'), '[y/N]', 'n', process.execPath, bin, 'rm', name], { timeout: 60000 });
    expect(no.stdout).toMatch(/Remove it\? \[y\/N\]/);
    expect(no.stdout).toMatch(/nothing removed/);
    expect(no.code).toBe(1);
    expect(fs.existsSync(`/dev/shm${name}`)).toBe(true);
    const yes = await run(python, [path.join(pythonDir, 'pty_run.py'), '[y/N]', 'y', process.execPath, bin, 'rm', name], { timeout: 60000 });
    expect(yes.stdout).toMatch(new RegExp(`removed POSIX shared memory ${name}`));
    expect(yes.code).toBe(0);
    expect(fs.existsSync(`/dev/shm${name}`)).toBe(false);
  });

  test('never follows a name out of the IPC namespace: ../, slashes, links, overlong names', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipckit-cli-'));
    const decoy = path.join(dir, 'decoy');
    fs.writeFileSync(decoy, 'keep me');
    const link = newName();
    fs.symlinkSync(decoy, `/dev/shm${link}`);
    try {
      const relative = path.relative('/dev/shm', decoy); // ../tmp/ipckit-cli-XXXX/decoy
      for (const target of [relative, `/${relative}`, decoy, `/dev/shm/${link.slice(1)}`, 'x'.repeat(300), '..', '.']) {
        const result = await ipckit('rm', target, '--yes');
        expect({ target, code: result.code }).toEqual({ target, code: 1 });
        expect(result.stderr).toMatch(/ERR_INVALID_ARG_VALUE/);
      }
      // A symbolic link in /dev/shm is nothing shm_open would open: not listed, not removed.
      const viaLink = await ipckit('rm', link, '--yes');
      expect(viaLink.code).toBe(1);
      expect(viaLink.stderr).toMatch(/ERR_IPC_NOT_FOUND/);
      expect(fs.readFileSync(decoy, 'utf8')).toBe('keep me');
      expect(fs.lstatSync(`/dev/shm${link}`).isSymbolicLink()).toBe(true);
    } finally {
      fs.rmSync(`/dev/shm${link}`, { force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  (isRoot ? test : test.skip)(
    "as another user: ls and stat work, rm of root's objects is refused with EACCES/EPERM and exit 1, nothing is removed",
    async () => {
      const stage = stagePackage();
      const name = newName();
      const key = sysvKey();
      const shm = SharedMemory.create(name, { size: 4096, mode: 0o666 });
      const queue = SysVMessageQueue.create(key, { mode: 0o666 });
      const asNobody = (...args: string[]) =>
        run(process.execPath, [path.join(stage, 'bin', 'ipckit.js'), ...args], { uid: 65534, gid: 65534, cwd: stage, timeout: 60000 });
      try {
        const ls = await asNobody('ls', '--json');
        expect(ls.code).toBe(0);
        const seen = JSON.parse(ls.stdout).objects.filter((o: { name: string; key: number }) => o.name === name || o.key === key);
        expect(seen.map((o: { kind: string; uid: number }) => [o.kind, o.uid])).toEqual([
          ['posix-shm', 0],
          ['sysv-mq', 0],
        ]);
        const stat = await asNobody('stat', name, '--json');
        expect(stat.code).toBe(0);
        const [s] = JSON.parse(stat.stdout).objects;
        expect(s.holdersUnseen).toBeGreaterThan(0); // root's processes (this one among them) are not nobody's to read
        expect(s.holders).toEqual([]);
        const rm = await asNobody('rm', name, String(key), '--yes');
        expect(rm.code).toBe(1);
        expect(rm.stderr).toMatch(new RegExp(`POSIX shared memory ${name}: EACCES: permission denied, shm_unlink`));
        expect(rm.stderr).toMatch(/System V message queue .*: EPERM: operation not permitted, msgctl .*owned by root/);
        expect(rm.stdout).toBe('');
        expect(fs.existsSync(`/dev/shm${name}`)).toBe(true);
        expect(fs.readFileSync('/proc/sysvipc/msg', 'utf8')).toMatch(new RegExp(`\\s${queue.id}\\s`));
        const json = await asNobody('rm', name, '--yes', '--json');
        expect(json.code).toBe(1);
        expect(JSON.parse(json.stdout)).toMatchObject({ removed: [], failed: [{ code: 'EACCES', object: { name } }] });
      } finally {
        shm.close();
        queue.remove();
        fs.rmSync(stage, { recursive: true, force: true });
      }
    },
  );
});

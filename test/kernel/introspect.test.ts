// list(), stat(), remove() and limits() against what the kernel itself publishes: /dev/shm and
// fs.statSync for POSIX objects, /proc/sysvipc for System V ones, /proc/sys for the limits, and a
// second Node process holding an object for stat()'s holders. Other tests run at the same time and
// make objects of their own, so every check looks only at this file's objects (or runs in a
// namespace of its own). The C and Python peers, and the ipckit command, are in
// test/interop/introspect.test.ts and test/kernel/cli.test.ts.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ErrorCodes,
  IPC_OBJECT_KINDS,
  IpcObject,
  PosixMessageQueue,
  Semaphore,
  SharedMemory,
  SysVMessageQueue,
  SysVSemaphoreSet,
  SysVSharedMemory,
  limits,
  list,
} from '../../lib';
import { CONSTRUCT } from '../../lib/errors';
import { mqueueMount } from '../../lib/introspect';
import { eventually, isRoot, kill, repoRoot, run, scratchDir, shmNames, stagePackage, startNode, sysvKey, thrown } from '../helpers';

const shmName = shmNames('introspect');
// The same names serve for semaphores and queues: remove those too, whatever a test left.
const used: string[] = [];
const newName = () => {
  const name = shmName();
  used.push(name);
  return name;
};
afterEach(() => {
  for (const name of used.splice(0)) {
    for (const unlink of [Semaphore.unlink, PosixMessageQueue.unlink]) {
      try {
        unlink(name);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOENT') throw error;
      }
    }
  }
});
const dist = JSON.stringify(path.join(repoRoot, 'dist'));

/** /proc/sysvipc's row for an id, by column name. */
function sysvRow(file: 'msg' | 'sem' | 'shm', id: number): Record<string, string> | undefined {
  const [header, ...lines] = fs.readFileSync(`/proc/sysvipc/${file}`, 'utf8').trim().split('\n');
  const names = header.trim().split(/\s+/);
  const row = lines.map((l) => l.trim().split(/\s+/)).find((cells) => cells[1] === String(id));
  return row && Object.fromEntries(names.map((n, i) => [n, row[i]]));
}

describe('list()', () => {
  test('POSIX shared memory and semaphores are listed with the owner, mode, size and times /dev/shm has for them', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 12345, mode: 0o640 });
    using sem = Semaphore.create(name, { initial: 4, mode: 0o604 });
    const found = list({ name });
    expect(found.map((o) => o.kind)).toEqual(['posix-shm', 'posix-sem']);
    const [m, s] = found;
    expect(m).toBeInstanceOf(IpcObject);
    const st = fs.statSync(`/dev/shm${name}`);
    expect(m).toMatchObject({
      name,
      path: `/dev/shm${name}`,
      uid: st.uid,
      gid: st.gid,
      mode: 0o640,
      size: 12345,
      key: null,
      id: null,
      messages: null,
    });
    expect(m.changeTime!.getTime()).toBe(st.ctime.getTime());
    expect(m.modifyTime!.getTime()).toBe(st.mtime.getTime());
    expect(s).toMatchObject({ name, path: `/dev/shm/sem.${name.slice(1)}`, mode: 0o604, size: null });
    expect(m.description).toBe('POSIX shared memory');
    // The whole list has them too, in kind order, and nothing twice.
    const all = list().filter((o) => o.name === name);
    expect(all.map((o) => o.kind)).toEqual(['posix-shm', 'posix-sem']);
    expect(sem.value).toBe(4);
    expect(shm.size).toBe(12345);
  });

  test("System V objects are listed with /proc/sysvipc's fields: key, id, owner, counts, pids and times", () => {
    const key = sysvKey();
    using queue = SysVMessageQueue.create(key, { mode: 0o640 });
    const set = SysVSemaphoreSet.create(key, { count: 3, mode: 0o600 });
    const segment = SysVSharedMemory.create(key, { size: 10000, mode: 0o644 });
    const priv = SysVSharedMemory.createPrivate({ size: 4096 });
    try {
      expect(queue.trySend(Buffer.alloc(10), { type: 1 })).toBe(true);
      expect(queue.trySend(Buffer.alloc(20), { type: 1 })).toBe(true);
      const found = list({ key });
      expect(found.map((o) => o.kind)).toEqual(['sysv-shm', 'sysv-sem', 'sysv-mq']);
      const [shm, sem, mq] = found;
      const uid = process.getuid!();
      expect(shm).toMatchObject({
        key,
        id: segment.id,
        mode: 0o644,
        size: 10000,
        attachCount: 1,
        removed: false,
        creatorPid: process.pid,
        lastPid: process.pid,
        uid,
        cuid: uid,
      });
      expect(shm.attachTime).toBeInstanceOf(Date);
      expect(sem).toMatchObject({ key, id: set.id, mode: 0o600, semaphores: 3, lastOpTime: null });
      expect(mq).toMatchObject({
        key,
        id: queue.id,
        mode: 0o640,
        messages: 2,
        size: 30,
        lastSendPid: process.pid,
        lastReceivePid: 0,
        lastReceiveTime: null,
      });
      expect(mq.lastSendTime).toBeInstanceOf(Date);
      // Every figure is /proc/sysvipc's own.
      const row = sysvRow('msg', queue.id)!;
      expect([mq.size, mq.messages, mq.lastSendPid]).toEqual([Number(row.cbytes), Number(row.qnum), Number(row.lspid)]);
      expect(mq.lastSendTime!.getTime()).toBe(Number(row.stime) * 1000);
      // A private object has key 0 and is found by id.
      expect(list({ id: priv.id }).map((o) => [o.kind, o.key, o.size])).toEqual([['sysv-shm', 0, 4096]]);
      // Removal asked for while attached: still listed, key IPC_PRIVATE, flagged removed.
      segment.remove();
      expect(list({ id: segment.id })[0]).toMatchObject({ key: 0, removed: true, attachCount: 1, mode: 0o644 });
    } finally {
      set.remove();
      segment.close();
      priv.remove();
      priv.close();
      queue.remove();
    }
  });

  test('filters by kind, name, key and id; bad filters are coded errors', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 100 });
    expect(list({ name: name.slice(1) }).map((o) => o.name)).toEqual([name]);
    expect(list({ name, kind: 'posix-sem' })).toHaveLength(0);
    expect(list({ name, kind: ['posix-sem', 'posix-shm'] })).toHaveLength(1);
    expect(list({ kind: 'sysv-mq' }).every((o) => o.kind === 'sysv-mq')).toBe(true);
    expect(thrown(() => list({ kind: 'shm' as never })).code).toBe('ERR_INVALID_ARG_VALUE');
    // Names are IPC names, never paths.
    for (const bad of ['../etc/passwd', 'a/b', '/dev/shm/x', 'a\0b', 'x'.repeat(300), '', '..']) {
      expect(thrown(() => list({ name: bad })).code).toBe('ERR_INVALID_ARG_VALUE');
    }
    expect(thrown(() => list({ name: 5 as never })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => list({ key: 2 ** 40 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => list({ id: -1 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => list('x' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(shm.size).toBe(100);
  });

  test('POSIX queues with no mqueue file system: named in `unlisted`, and still found by name', () => {
    const name = newName();
    using queue = PosixMessageQueue.create(name, { maxMessages: 3, messageSize: 64 });
    expect(queue.trySend(Buffer.alloc(5))).toBe(true);
    const mount = mqueueMount();
    const found = list({ name, kind: 'posix-mq' });
    expect(found.map((o) => [o.kind, o.name, o.messages, o.mode])).toEqual([['posix-mq', name, 1, 0o600]]);
    expect(found[0].stat()).toMatchObject({ messages: 1, maxMessages: 3, messageSize: 64 });
    const all = list();
    if (mount === undefined) {
      expect(all.unlisted.map((u) => u.kind)).toEqual(['posix-mq']);
      expect(all.unlisted[0].reason).toMatch(/mqueue/);
      expect(all.some((o) => o.kind === 'posix-mq')).toBe(false);
    } else {
      expect(all.unlisted).toEqual([]);
      expect(all.some((o) => o.name === name && o.kind === 'posix-mq')).toBe(true);
    }
    // A filter that is not an exact name cannot be answered for queues either.
    expect(list({ kind: 'posix-mq' }).unlisted.length).toBe(mount === undefined ? 1 : 0);
    PosixMessageQueue.unlink(name);
  });

  (isRoot ? test : test.skip)('where an mqueue file system is mounted, every queue is listed with its owner and bytes (own namespaces)', async () => {
    const dir = scratchDir();
    const mq = path.join(dir, 'mq');
    fs.mkdirSync(mq);
    const script = `
      const { PosixMessageQueue, list } = require(${dist});
      const a = PosixMessageQueue.create('/listed-a', { maxMessages: 4, messageSize: 128, mode: 0o640 });
      a.trySend(Buffer.alloc(50));
      a.trySend(Buffer.alloc(70));
      const b = PosixMessageQueue.create('/listed-b', { maxMessages: 2, messageSize: 16 });
      const found = list({ kind: 'posix-mq' });
      console.log(JSON.stringify({ objects: found, unlisted: found.unlisted, stat: found[0].stat() }));
      a.close(); b.close();
      PosixMessageQueue.unlink('/listed-a'); PosixMessageQueue.unlink('/listed-b');
      console.log(JSON.stringify(list({ kind: 'posix-mq' })));
    `;
    const result = await run('unshare', [
      '--ipc',
      '--mount',
      'sh',
      '-c',
      `mount -t mqueue none "${mq}" && exec "${process.execPath}" -e "$0"`,
      script,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [first, after] = result.stdout.trim().split('\n');
    const { objects, unlisted, stat } = JSON.parse(first);
    expect(unlisted).toEqual([]);
    expect(
      objects.map((o: { name: string; path: string; mode: number; size: number; uid: number }) => [o.name, o.path, o.mode, o.size, o.uid]),
    ).toEqual([
      ['/listed-a', path.join(mq, 'listed-a'), 0o640, 120, process.getuid!()],
      ['/listed-b', path.join(mq, 'listed-b'), 0o600, 0, process.getuid!()],
    ]);
    expect(stat).toMatchObject({ messages: 2, maxMessages: 4, messageSize: 128 });
    expect(stat.holders).toHaveLength(1); // the script itself, with its one descriptor
    expect(stat.holders[0].fds).toHaveLength(1);
    expect(JSON.parse(after)).toEqual([]);
  });

  test('the JSON of an object has every field, null where its kind has none, and dates as ISO strings', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 64 });
    const json = JSON.parse(JSON.stringify(list({ name })[0]));
    expect(Object.keys(json)).toEqual([
      'kind',
      'name',
      'key',
      'id',
      'path',
      'uid',
      'gid',
      'cuid',
      'cgid',
      'mode',
      'size',
      'messages',
      'semaphores',
      'attachCount',
      'removed',
      'creatorPid',
      'lastPid',
      'lastSendPid',
      'lastReceivePid',
      'notifyPid',
      'changeTime',
      'modifyTime',
      'lastSendTime',
      'lastReceiveTime',
      'lastOpTime',
      'attachTime',
      'detachTime',
    ]);
    expect(json.changeTime).toBe(fs.statSync(`/dev/shm${name}`).ctime.toISOString());
    expect(json.key).toBeNull();
    expect(IPC_OBJECT_KINDS).toContain(json.kind);
    expect(shm.size).toBe(64);
  });

  test('an IpcObject is made by list() only, and is frozen', () => {
    expect(thrown(() => new (IpcObject as unknown as new (x: unknown) => unknown)({})).code).toBe('ERR_ILLEGAL_CONSTRUCTOR');
    const name = newName();
    using shm = SharedMemory.create(name, { size: 64 });
    const [o] = list({ name });
    expect(Object.isFrozen(o)).toBe(true);
    expect(shm.size).toBe(64);
  });
});

describe('stat()', () => {
  test("names the processes that have an object open or mapped: another Node process's descriptor and mapping, and this one's", async () => {
    const name = newName();
    const shm = SharedMemory.create(name, { size: 3 * 4096 });
    const child = await startNode('introspect-holder.js', [name]);
    try {
      const [o] = list({ name });
      const s = o.stat();
      const theirs = s.holders!.find((h) => h.pid === child.pid)!;
      expect(theirs).toMatchObject({ command: 'node', uid: process.getuid!(), mappings: 1, mappedBytes: 3 * 4096 });
      expect(theirs.fds).toHaveLength(1);
      const mine = s.holders!.find((h) => h.pid === process.pid)!;
      expect(mine.fds).toEqual([shm.fd]);
      expect(mine.mappings).toBe(1);
      shm.close();
      await kill(child);
      const after = o.stat();
      expect(after.holders!.map((h) => h.pid)).not.toContain(child.pid);
      expect(after.holders!.map((h) => h.pid)).not.toContain(process.pid);
    } finally {
      await kill(child);
      shm.close();
      SharedMemory.unlink(name);
    }
  });

  test('System V segments: the attached processes, found by id in their maps; sets carry their values; queues have no holders', () => {
    const key = sysvKey();
    const segment = SysVSharedMemory.create(key, { size: 5000 });
    const set = SysVSemaphoreSet.create(key, { count: 2 });
    const queue = SysVMessageQueue.create(key);
    try {
      set.set(1, 9);
      const [shm, sem, mq] = list({ key });
      const s = shm.stat();
      expect(s.holders).toEqual([expect.objectContaining({ pid: process.pid, fds: [], mappings: 1, mappedBytes: 8192 })]);
      expect(sem.stat().semaphoreValues).toEqual([
        { value: 0, lastPid: 0, waiting: 0, waitingForZero: 0 },
        { value: 9, lastPid: process.pid, waiting: 0, waitingForZero: 0 },
      ]);
      expect(sem.stat().holders).toBeNull();
      expect(mq.stat()).toMatchObject({ holders: null, messages: 0 });
      segment.close();
      expect(shm.stat()).toMatchObject({ attachCount: 0, holders: [] });
    } finally {
      segment.close();
      SysVSharedMemory.remove(key);
      set.remove();
      queue.remove();
    }
  });

  test('POSIX semaphores: the value, and the processes that have it mapped', () => {
    const name = newName();
    using sem = Semaphore.create(name, { initial: 7 });
    const s = list({ name, kind: 'posix-sem' })[0].stat();
    expect(s.value).toBe(7);
    expect(s.holders!.map((h) => [h.pid, h.fds.length, h.mappings])).toEqual([[process.pid, 0, 1]]);
    Semaphore.unlink(name);
  });
});

describe('remove()', () => {
  test('removes each kind; an object gone meanwhile is ERR_IPC_NOT_FOUND for stat() and remove()', () => {
    const name = newName();
    const key = sysvKey();
    SharedMemory.create(name, { size: 64 }).close();
    Semaphore.create(name).close();
    PosixMessageQueue.create(name, { maxMessages: 1, messageSize: 8 }).close();
    SysVMessageQueue.create(key);
    SysVSemaphoreSet.create(key, { count: 1 });
    SysVSharedMemory.create(key, { size: 64 }).close();
    const objects = [...list({ name }), ...list({ key })];
    expect(objects.map((o) => o.kind).sort()).toEqual(['posix-mq', 'posix-sem', 'posix-shm', 'sysv-mq', 'sysv-sem', 'sysv-shm']);
    for (const o of objects) o.remove();
    expect([...list({ name }), ...list({ key })]).toEqual([]);
    expect(fs.existsSync(`/dev/shm${name}`)).toBe(false);
    for (const o of objects) {
      expect(thrown(() => o.stat()).code).toBe(ErrorCodes.NOT_FOUND);
      // POSIX names: the unlink's own ENOENT; System V: the id no longer carries the key.
      expect(thrown(() => o.remove()).code).toBe(o.kind.startsWith('posix') ? 'ENOENT' : ErrorCodes.NOT_FOUND);
    }
  });

  test('a System V id that now carries another key is not removed', () => {
    const key = sysvKey();
    const queue = SysVMessageQueue.create(key);
    try {
      const [listed] = list({ key });
      // As if the queue had been removed and its id reused by an object with another key.
      const stale = new IpcObject(CONSTRUCT, { ...listed.toJSON(), key: key + 1 });
      expect(thrown(() => stale.remove()).code).toBe(ErrorCodes.NOT_FOUND);
      expect(thrown(() => stale.stat()).code).toBe(ErrorCodes.NOT_FOUND);
      expect(list({ id: queue.id })).toHaveLength(1);
    } finally {
      queue.remove();
    }
  });

  (isRoot ? test : test.skip)("as another user: the kernel's refusal (EACCES, EPERM) is the error, and nothing is removed", async () => {
    const name = newName();
    const key = sysvKey();
    using shm = SharedMemory.create(name, { size: 64, mode: 0o666 });
    const queue = SysVMessageQueue.create(key, { mode: 0o666 });
    try {
      // A copy any user can read (the checkout may sit in a private directory, as under sanitize.sh).
      const stage = stagePackage();
      const script = `
        const { list } = require(${JSON.stringify(path.join(stage, 'dist'))});
        for (const o of [...list({ name: ${JSON.stringify(name)} }), ...list({ key: ${key} })]) {
          try { o.remove(); console.log(o.kind, 'removed'); } catch (e) { console.log(o.kind, e.code); }
        }`;
      const result = await run(process.execPath, ['-e', script], { uid: 65534, gid: 65534, cwd: '/' }).finally(() =>
        fs.rmSync(stage, { recursive: true, force: true }),
      );
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('posix-shm EACCES\nsysv-mq EPERM\n');
      expect(list({ name })).toHaveLength(1);
      expect(list({ key })).toHaveLength(1);
    } finally {
      queue.remove();
      SharedMemory.unlink(name);
    }
    expect(shm.size).toBe(64);
  });
});

test("limits() are the kernel's, read from /proc/sys and /dev/shm's file system at the call", async () => {
  const l = limits();
  const read = (file: string) => fs.readFileSync(file, 'utf8').trim();
  expect(l.msgmax).toBe(Number(read('/proc/sys/kernel/msgmax')));
  expect(l.msgmnb).toBe(Number(read('/proc/sys/kernel/msgmnb')));
  expect(l.msgmni).toBe(Number(read('/proc/sys/kernel/msgmni')));
  expect(l.msg_max).toBe(Number(read('/proc/sys/fs/mqueue/msg_max')));
  expect(l.msgsize_max).toBe(Number(read('/proc/sys/fs/mqueue/msgsize_max')));
  expect(l.queues_max).toBe(Number(read('/proc/sys/fs/mqueue/queues_max')));
  expect([l.semmsl, l.semmns, l.semopm, l.semmni]).toEqual(read('/proc/sys/kernel/sem').split(/\s+/).map(Number));
  expect(l.shmmni).toBe(Number(read('/proc/sys/kernel/shmmni')));
  expect(l.shmmax).toBe(Number(read('/proc/sys/kernel/shmmax')));
  const soft = spawnSync('prlimit', ['--pid', String(process.pid), '--msgqueue', '--output', 'SOFT', '--noheadings'], {
    encoding: 'utf8',
  }).stdout.trim();
  expect(l.rlimitMsgqueue).toBe(soft === 'unlimited' ? Infinity : Number(soft));
  expect(l.pageSize).toBe(Number(spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).stdout.trim()));
  const fsStat = fs.statfsSync('/dev/shm');
  expect(l.devShm).toMatchObject({ path: '/dev/shm', size: fsStat.blocks * fsStat.bsize });
  // What a new object takes shows as less free space.
  const before = limits().devShm!.free;
  const name = newName();
  const shm = SharedMemory.create(name, { size: 1 << 20 });
  try {
    shm.buffer.fill(1);
    await eventually('the megabyte shows in /dev/shm', () => before - limits().devShm!.free >= 1 << 20);
  } finally {
    shm.close();
    SharedMemory.unlink(name);
  }
});

// Introspection: what IPC objects exist on this host, who holds them, and the kernel limits that
// govern them. Named IPC objects outlive the processes that made them, and no other library
// lists POSIX and System V objects in one view: this module reads what the kernel publishes
// (/dev/shm, the mqueue file system, /proc/sysvipc, /proc/<pid>/fd and maps, /proc/sys) and asks
// the addon only for what no file says (a queue's attributes, a semaphore set's values, IPC_RMID
// by id). On Windows it lists what Windows lets anyone enumerate: named pipes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { binding } from './binding';
import { CONSTRUCT, constructing, ErrorCodes, invalidArgValue, IpcError } from './errors';
import { posixName } from './names';
import { PosixMessageQueue } from './posix-message-queue';
import { Semaphore } from './semaphore';
import { SharedMemory } from './shared-memory';
import { validateInteger, validateObject } from './validate';

/** The kinds of object `list()` knows, in the order it lists them. */
export const IPC_OBJECT_KINDS = ['posix-shm', 'posix-sem', 'posix-mq', 'sysv-shm', 'sysv-sem', 'sysv-mq', 'windows-pipe'] as const;
export type IpcObjectKind = (typeof IPC_OBJECT_KINDS)[number];

/** What each kind is, in words (the command's output and error messages use these). */
export const IPC_OBJECT_KIND_NAMES: Readonly<Record<IpcObjectKind, string>> = {
  'posix-shm': 'POSIX shared memory',
  'posix-sem': 'POSIX semaphore',
  'posix-mq': 'POSIX message queue',
  'sysv-shm': 'System V shared memory',
  'sysv-sem': 'System V semaphore set',
  'sysv-mq': 'System V message queue',
  'windows-pipe': 'Windows named pipe',
};

/**
 * One IPC object as the kernel describes it. Every field is present for every kind; a field the
 * kind has no such thing for is `null` (a semaphore has no size, a POSIX object no key).
 */
export interface IpcObjectFields {
  kind: IpcObjectKind;
  /** POSIX objects: the name with its leading slash (`'/frames'`); Windows pipes: `\\.\pipe\name`. */
  name: string | null;
  /** System V objects: the key (0 is IPC_PRIVATE), as the signed 32-bit key_t holds it. */
  key: number | null;
  /** System V objects: the id (what `ipcs` shows, and what `SysVSharedMemory.attach()` takes). */
  id: number | null;
  /** Where the object shows in the file system: `/dev/shm/frames`, `/dev/shm/sem.lock`, `<mqueue mount>/jobs`. */
  path: string | null;
  uid: number | null;
  gid: number | null;
  /** System V: the creator's user and group (the owner may have been changed since). */
  cuid: number | null;
  cgid: number | null;
  /** Permission bits (0o600). */
  mode: number | null;
  /** Bytes: a shared memory object's size, or the bytes queued in a message queue. */
  size: number | null;
  /** Messages queued (System V queues; POSIX queues in `stat()`, which has to open them). */
  messages: number | null;
  /** Semaphores in a System V set. */
  semaphores: number | null;
  /** System V shared memory: how many attachments the segment has now. */
  attachCount: number | null;
  /**
   * System V shared memory: removal was asked for (IPC_RMID, SHM_DEST): the segment goes when its
   * last attachment does, and its key is IPC_PRIVATE (0) meanwhile.
   */
  removed: boolean | null;
  /** System V shared memory: the creator's pid, and the pid of the last shmat or shmdt. */
  creatorPid: number | null;
  lastPid: number | null;
  /** System V queues: the pids of the last msgsnd and msgrcv (0 when none was made). */
  lastSendPid: number | null;
  lastReceivePid: number | null;
  /** POSIX queues: the process registered for mq_notify, if any. */
  notifyPid: number | null;
  /** When the object's attributes last changed (ctime). */
  changeTime: Date | null;
  /** POSIX objects: when their contents last changed (mtime). */
  modifyTime: Date | null;
  /** System V queues: last msgsnd and msgrcv; `null` when none was made. */
  lastSendTime: Date | null;
  lastReceiveTime: Date | null;
  /** System V semaphore sets: the last semop; `null` when none was made. */
  lastOpTime: Date | null;
  /** System V shared memory: the last shmat and shmdt; `null` when none was made. */
  attachTime: Date | null;
  detachTime: Date | null;
}

/** A kind that could not be listed, and why (`list().unlisted`). */
export interface UnlistedKind {
  kind: IpcObjectKind | 'windows-mapping' | 'windows-semaphore' | 'windows-mailslot';
  reason: string;
}

/** What `list()` returns: the objects, and the kinds it could not see (rather than silently none). */
export interface IpcObjectList extends Array<IpcObject> {
  readonly unlisted: UnlistedKind[];
}

/** A process that has an object open or mapped (`stat().holders`). */
export interface IpcHolder {
  pid: number;
  /** The process's name (/proc/<pid>/comm). */
  command: string;
  /** Its real user id. */
  uid: number | null;
  /** Its descriptors on the object. */
  fds: number[];
  /** How many mappings of the object it has, and their bytes. */
  mappings: number;
  mappedBytes: number;
}

/** A semaphore of a System V set (`stat().semaphoreValues`). */
export interface SysVSemaphoreState {
  value: number;
  /** The pid of the last semop on it (0: none). */
  lastPid: number;
  /** Processes waiting for it to rise (semncnt), and for it to reach zero (semzcnt). */
  waiting: number;
  waitingForZero: number;
}

/** `stat()`: the object's fields read again, and who holds it. */
export interface IpcObjectStat extends IpcObjectFields {
  /**
   * Processes that have it open or mapped, as far as this process may look (/proc/<pid>/fd and
   * maps). `null` for System V queues and semaphore sets: the kernel does not record who uses
   * them (only the last pids, which the fields carry).
   */
  holders: IpcHolder[] | null;
  /** Processes whose descriptors and mappings this process may not read: holders may be missing. */
  holdersUnseen: number;
  /** POSIX semaphores: the value now (null when this process may not open it). */
  value: number | null;
  /** POSIX queues: the queue's attributes (null when this process may not open it). */
  maxMessages: number | null;
  messageSize: number | null;
  /** System V semaphore sets: each semaphore (null without read permission). */
  semaphoreValues: SysVSemaphoreState[] | null;
}

/** `list(filter)`: only the objects that match every given field. */
export interface ListFilter {
  kind?: IpcObjectKind | readonly IpcObjectKind[];
  /** A POSIX name (`'frames'` and `'/frames'` are the same), or a Windows pipe's name. */
  name?: string;
  /** A System V key. */
  key?: number;
  /** A System V id. */
  id?: number;
}

const FIELD_NAMES: readonly (keyof IpcObjectFields)[] = [
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
];

function emptyFields(kind: IpcObjectKind): IpcObjectFields {
  const fields = Object.fromEntries(FIELD_NAMES.map((name) => [name, null])) as unknown as IpcObjectFields;
  fields.kind = kind;
  return fields;
}

/** One object of `list()`. Its fields are a snapshot; `stat()` reads them again. */
export class IpcObject implements IpcObjectFields {
  declare readonly kind: IpcObjectKind;
  declare readonly name: string | null;
  declare readonly key: number | null;
  declare readonly id: number | null;
  declare readonly path: string | null;
  declare readonly uid: number | null;
  declare readonly gid: number | null;
  declare readonly cuid: number | null;
  declare readonly cgid: number | null;
  declare readonly mode: number | null;
  declare readonly size: number | null;
  declare readonly messages: number | null;
  declare readonly semaphores: number | null;
  declare readonly attachCount: number | null;
  declare readonly removed: boolean | null;
  declare readonly creatorPid: number | null;
  declare readonly lastPid: number | null;
  declare readonly lastSendPid: number | null;
  declare readonly lastReceivePid: number | null;
  declare readonly notifyPid: number | null;
  declare readonly changeTime: Date | null;
  declare readonly modifyTime: Date | null;
  declare readonly lastSendTime: Date | null;
  declare readonly lastReceiveTime: Date | null;
  declare readonly lastOpTime: Date | null;
  declare readonly attachTime: Date | null;
  declare readonly detachTime: Date | null;

  /** @internal */
  constructor(token: symbol, fields: IpcObjectFields) {
    constructing(token);
    Object.assign(this, fields);
    Object.freeze(this);
  }

  /** What the kind is, in words ('System V shared memory'). */
  get description(): string {
    return IPC_OBJECT_KIND_NAMES[this.kind];
  }

  /** The object's fields read again, who has it open or mapped, and what only opening it tells. */
  stat(): IpcObjectStat {
    return statObject(this);
  }

  /**
   * Removes the object: shm_unlink, sem_unlink or mq_unlink of its name, or IPC_RMID of its id
   * (after checking that the id still carries the key it was listed with). Processes that have
   * it open or mapped keep it until they let go. The kernel decides who may: a refusal is the
   * system error EACCES or EPERM, and nothing is removed.
   */
  remove(): void {
    removeObject(this);
  }

  /** The fields alone, for JSON.stringify (dates as ISO strings). */
  toJSON(): IpcObjectFields {
    return fieldsOf(this);
  }
}

function fieldsOf(object: IpcObjectFields): IpcObjectFields {
  return Object.fromEntries(FIELD_NAMES.map((name) => [name, object[name]])) as unknown as IpcObjectFields;
}

// ---- reading what the kernel publishes ----

/** A file's text, or undefined when it cannot be read (gone, no permission, not this platform). */
function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The rows of a /proc/sysvipc file, by its own column names (so new columns cannot shift them). */
function sysvRows(file: string): Record<string, string>[] {
  const text = readText(file);
  if (text === undefined) return [];
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const header = (lines.shift() ?? '').trim().split(/\s+/);
  return lines.map((line) => {
    const cells = line.trim().split(/\s+/);
    return Object.fromEntries(header.map((name, i) => [name, cells[i] ?? '']));
  });
}

const int = (text: string | undefined): number | null => {
  if (text === undefined || text === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
};
const when = (text: string | undefined): Date | null => {
  const seconds = int(text);
  return seconds === null || seconds === 0 ? null : new Date(seconds * 1000);
};
const mode = (text: string | undefined): number | null => {
  if (text === undefined) return null;
  const value = parseInt(text, 8);
  return Number.isFinite(value) ? value & 0o7777 : null;
};

function sysvObjects(kind: 'sysv-shm' | 'sysv-sem' | 'sysv-mq'): IpcObjectFields[] {
  const file = { 'sysv-shm': '/proc/sysvipc/shm', 'sysv-sem': '/proc/sysvipc/sem', 'sysv-mq': '/proc/sysvipc/msg' }[kind];
  return sysvRows(file).map((row) => {
    const f = emptyFields(kind);
    f.key = int(row.key);
    f.id = int(row.shmid ?? row.semid ?? row.msqid);
    const perms = mode(row.perms);
    f.mode = perms === null ? null : perms & 0o777;
    f.uid = int(row.uid);
    f.gid = int(row.gid);
    f.cuid = int(row.cuid);
    f.cgid = int(row.cgid);
    f.changeTime = when(row.ctime);
    if (kind === 'sysv-shm') {
      f.size = int(row.size);
      f.attachCount = int(row.nattch);
      f.removed = perms === null ? null : (perms & 0o1000) !== 0; // SHM_DEST
      f.creatorPid = int(row.cpid);
      f.lastPid = int(row.lpid);
      f.attachTime = when(row.atime);
      f.detachTime = when(row.dtime);
    } else if (kind === 'sysv-sem') {
      f.semaphores = int(row.nsems);
      f.lastOpTime = when(row.otime);
    } else {
      f.size = int(row.cbytes);
      f.messages = int(row.qnum);
      f.lastSendPid = int(row.lspid);
      f.lastReceivePid = int(row.lrpid);
      f.lastSendTime = when(row.stime);
      f.lastReceiveTime = when(row.rtime);
    }
    return f;
  });
}

const SHM_DIR = '/dev/shm';

function fileFields(kind: IpcObjectKind, name: string, file: string, st: fs.Stats): IpcObjectFields {
  const f = emptyFields(kind);
  f.name = name;
  f.path = file;
  f.uid = st.uid;
  f.gid = st.gid;
  f.mode = st.mode & 0o7777;
  f.changeTime = st.ctime;
  f.modifyTime = st.mtime;
  if (kind === 'posix-shm') f.size = st.size;
  return f;
}

/** POSIX shared memory and semaphores: the regular files of /dev/shm (a semaphore is sem.NAME). */
function devShmObjects(): IpcObjectFields[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(SHM_DIR, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: IpcObjectFields[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue; // directories, links and sockets are nothing shm_open opens
    const file = path.join(SHM_DIR, entry.name);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(file);
    } catch {
      continue; // gone since readdir
    }
    if (!st.isFile()) continue;
    const semaphore = entry.name.startsWith('sem.') && entry.name.length > 4;
    out.push(fileFields(semaphore ? 'posix-sem' : 'posix-shm', `/${semaphore ? entry.name.slice(4) : entry.name}`, file, st));
  }
  return out;
}

/** Where an mqueue file system is mounted, if anywhere this process can see. */
export function mqueueMount(): string | undefined {
  const mounts = readText('/proc/self/mounts');
  if (mounts === undefined) return undefined;
  for (const line of mounts.split('\n')) {
    const [, where, type] = line.split(' ');
    // Mount points escape spaces and such as octal (\040).
    if (type === 'mqueue' && where !== undefined) return where.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return undefined;
}

const NO_MQUEUE_MOUNT =
  'POSIX message queues can only be listed through an mqueue file system, and none is mounted ' +
  '(mount one with: mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue). ' +
  "A queue whose name you know can still be looked up: list({ name }) or 'ipckit stat NAME'";

function mqueueObjects(mount: string): IpcObjectFields[] {
  let names: string[];
  try {
    names = fs.readdirSync(mount);
  } catch {
    return [];
  }
  const out: IpcObjectFields[] = [];
  for (const entry of names) {
    const file = path.join(mount, entry);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(file);
    } catch {
      continue;
    }
    if (!st.isFile()) continue;
    const f = fileFields('posix-mq', `/${entry}`, file, st);
    // "QSIZE:129 NOTIFY:0 SIGNO:0 NOTIFY_PID:0": readable by whoever may read the queue.
    const text = readText(file);
    if (text !== undefined) {
      f.size = int(/QSIZE:(\d+)/.exec(text)?.[1]);
      const notify = int(/NOTIFY_PID:(\d+)/.exec(text)?.[1]);
      f.notifyPid = notify === 0 ? null : notify;
    }
    out.push(f);
  }
  return out;
}

/** A POSIX queue looked up by name, for hosts where no mqueue file system is mounted. */
function queueByName(name: string): IpcObjectFields | undefined {
  if (binding.posixQueueStat === undefined) return undefined;
  let st: ReturnType<NonNullable<typeof binding.posixQueueStat>>;
  try {
    st = binding.posixQueueStat(name);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EACCES') {
      // It exists; this process may neither read nor write it, so nothing more can be known.
      const f = emptyFields('posix-mq');
      f.name = name;
      return f;
    }
    throw error;
  }
  const f = emptyFields('posix-mq');
  f.name = name;
  f.uid = st.uid;
  f.gid = st.gid;
  f.mode = st.mode;
  f.messages = st.messages;
  return f;
}

const WINDOWS_PIPES = '\\\\.\\pipe\\';

function windowsObjects(unlisted: UnlistedKind[]): IpcObjectFields[] {
  unlisted.push(
    {
      kind: 'windows-mapping',
      reason: 'Windows has no documented way to enumerate named file mappings (they live in the object manager, not the file system)',
    },
    { kind: 'windows-semaphore', reason: 'Windows has no documented way to enumerate named semaphores' },
    { kind: 'windows-mailslot', reason: 'Windows does not let mailslots be enumerated' },
  );
  const wine = binding.wineVersion?.() ?? null;
  if (wine !== null) {
    // Wine's named-pipe file system answers a directory listing with nothing at all, pipes or
    // not: an empty list there would be a silent lie.
    unlisted.push({ kind: 'windows-pipe', reason: `Wine ${wine} does not enumerate \\\\.\\pipe\\ (Windows itself does)` });
    return [];
  }
  let names: string[];
  try {
    names = fs.readdirSync(WINDOWS_PIPES);
  } catch (error) {
    unlisted.push({ kind: 'windows-pipe', reason: `\\\\.\\pipe\\ could not be read: ${(error as Error).message}` });
    return [];
  }
  return names.map((entry) => {
    const f = emptyFields('windows-pipe');
    f.name = WINDOWS_PIPES + entry;
    return f;
  });
}

function kindsOf(filter: ListFilter): Set<IpcObjectKind> {
  const kinds = filter.kind === undefined ? [...IPC_OBJECT_KINDS] : typeof filter.kind === 'string' ? [filter.kind] : [...filter.kind];
  for (const kind of kinds) {
    if (!(IPC_OBJECT_KINDS as readonly string[]).includes(kind)) {
      throw invalidArgValue('filter.kind', kind, `must be one of ${IPC_OBJECT_KINDS.map((k) => `'${k}'`).join(', ')}`);
    }
  }
  return new Set(kinds);
}

function validateFilter(value: unknown): { kinds: Set<IpcObjectKind>; name?: string; key?: number; id?: number } {
  const filter = value === undefined ? {} : validateObject<ListFilter>(value, 'filter');
  const kinds = kindsOf(filter);
  let name: string | undefined;
  if (filter.name !== undefined) {
    if (process.platform === 'win32' && typeof filter.name === 'string' && filter.name.toLowerCase().startsWith(WINDOWS_PIPES)) {
      name = filter.name;
    } else {
      name = posixName(filter.name, 'filter.name'); // never a path: no '/', '..', NUL, or overlong names
    }
  }
  const key = filter.key === undefined ? undefined : validateInteger(filter.key, 'filter.key', -(2 ** 31), 2 ** 32 - 1) | 0;
  const id = filter.id === undefined ? undefined : validateInteger(filter.id, 'filter.id', 0, 2 ** 31 - 1);
  return { kinds, name, key, id };
}

/**
 * The host's IPC objects, as this process may see them: POSIX shared memory and semaphores
 * (/dev/shm), POSIX message queues (where an mqueue file system is mounted), System V queues,
 * semaphore sets and shared memory (/proc/sysvipc, this IPC namespace's). On Windows, named
 * pipes. `unlisted` names each kind that could not be listed here, and why.
 *
 * `filter` keeps only the objects with that kind, name, key or id. A POSIX queue looked up by
 * name is found even where no mqueue file system is mounted.
 */
export function list(filter?: ListFilter): IpcObjectList {
  const { kinds, name, key, id } = validateFilter(filter);
  const unlisted: UnlistedKind[] = [];
  let found: IpcObjectFields[] = [];
  if (process.platform === 'win32') {
    if (kinds.has('windows-pipe')) found = windowsObjects(unlisted);
  } else if (process.platform === 'linux') {
    if (kinds.has('posix-shm') || kinds.has('posix-sem')) found.push(...devShmObjects());
    if (kinds.has('posix-mq')) {
      const mount = mqueueMount();
      if (mount !== undefined) {
        found.push(...mqueueObjects(mount));
      } else if (name !== undefined && key === undefined && id === undefined) {
        const queue = queueByName(name);
        if (queue !== undefined) found.push(queue);
      } else {
        unlisted.push({ kind: 'posix-mq', reason: NO_MQUEUE_MOUNT });
      }
    }
    for (const kind of ['sysv-shm', 'sysv-sem', 'sysv-mq'] as const) if (kinds.has(kind)) found.push(...sysvObjects(kind));
  } else {
    unlisted.push({ kind: 'posix-shm', reason: `listing IPC objects is not implemented on ${process.platform}` });
  }
  found = found.filter(
    (f) =>
      kinds.has(f.kind) &&
      (name === undefined || (f.kind === 'windows-pipe' ? f.name?.toLowerCase() === name.toLowerCase() : f.name === name)) &&
      (key === undefined || f.key === key) &&
      (id === undefined || f.id === id),
  );
  const order = (f: IpcObjectFields) => IPC_OBJECT_KINDS.indexOf(f.kind);
  found.sort((a, b) => order(a) - order(b) || (a.name ?? '').localeCompare(b.name ?? '') || (a.key ?? 0) - (b.key ?? 0) || (a.id ?? 0) - (b.id ?? 0));
  const result = found.map((f) => new IpcObject(CONSTRUCT, f)) as IpcObject[] & { unlisted: UnlistedKind[] };
  Object.defineProperty(result, 'unlisted', { value: unlisted, enumerable: false });
  return result;
}

// ---- stat: who holds an object ----

/** How to recognise an object in /proc/<pid>/fd and maps. */
interface Identity {
  /** For file-backed objects: the device and inode, and the link text their descriptors show. */
  dev?: number;
  ino?: number;
  link?: string;
  /** System V segments show in maps as /SYSV<key in hex> with the id as the inode. */
  shmid?: number;
}

/** dev_t as glibc encodes it, as major:minor in hex as /proc/<pid>/maps shows it. */
function mapsDevice(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

function processUid(pid: string): number | null {
  const status = readText(`/proc/${pid}/status`);
  return int(/^Uid:\s+(\d+)/m.exec(status ?? '')?.[1]);
}

/** Every process that has the object open or mapped, and how many processes could not be read. */
function holdersOf(identity: Identity): { holders: IpcHolder[]; unseen: number } {
  const holders: IpcHolder[] = [];
  let unseen = 0;
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return { holders, unseen };
  }
  const device = identity.dev === undefined ? undefined : mapsDevice(identity.dev);
  for (const pid of pids) {
    const fds: number[] = [];
    let mappings = 0;
    let mappedBytes = 0;
    let denied = false;
    if (identity.link !== undefined) {
      let entries: string[] = [];
      try {
        entries = fs.readdirSync(`/proc/${pid}/fd`);
      } catch (error) {
        if ((error as { code?: string }).code === 'EACCES') denied = true;
      }
      for (const fd of entries) {
        const where = `/proc/${pid}/fd/${fd}`;
        let link: string;
        try {
          link = fs.readlinkSync(where);
        } catch {
          continue;
        }
        if (link !== identity.link) continue;
        const st = fs.statSync(where, { throwIfNoEntry: false });
        if (st !== undefined && st.dev === identity.dev && st.ino === identity.ino) fds.push(Number(fd));
      }
    }
    let maps: string | undefined;
    try {
      maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'EACCES') denied = true;
    }
    if (maps !== undefined) {
      for (const line of maps.split('\n')) {
        // address perms offset dev inode path
        const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ (\S+) (\d+)\s*(.*)$/.exec(line);
        if (m === null) continue;
        const inode = Number(m[4]);
        const hit =
          identity.shmid !== undefined
            ? m[5].startsWith('/SYSV') && inode === identity.shmid
            : device !== undefined && m[3] === device && inode === identity.ino;
        if (!hit) continue;
        mappings++;
        mappedBytes += Number(BigInt(`0x${m[2]}`) - BigInt(`0x${m[1]}`));
      }
    }
    if (denied) unseen++;
    if (fds.length === 0 && mappings === 0) continue;
    holders.push({
      pid: Number(pid),
      command: (readText(`/proc/${pid}/comm`) ?? '').trim(),
      uid: processUid(pid),
      fds,
      mappings,
      mappedBytes,
    });
  }
  return { holders, unseen };
}

function notFound(object: IpcObjectFields): IpcError {
  const what = IPC_OBJECT_KIND_NAMES[object.kind];
  const which = object.name ?? `key ${object.key} id ${object.id}`;
  return new IpcError(ErrorCodes.NOT_FOUND, `The ${what} ${which} no longer exists`);
}

/** The object as the kernel describes it now: found again by name, or by id and the same key. */
function refreshed(object: IpcObjectFields): IpcObjectFields {
  const again =
    object.kind === 'sysv-shm' || object.kind === 'sysv-sem' || object.kind === 'sysv-mq'
      ? list({ kind: object.kind, id: object.id! }).find((o) => o.key === object.key || (o.removed === true && o.key === 0))
      : list({ kind: object.kind, name: object.name! })[0];
  if (again === undefined) throw notFound(object);
  return fieldsOf(again);
}

function statObject(object: IpcObject): IpcObjectStat {
  const fields = refreshed(object);
  const stat: IpcObjectStat = {
    ...fields,
    holders: null,
    holdersUnseen: 0,
    value: null,
    maxMessages: null,
    messageSize: null,
    semaphoreValues: null,
  };
  let identity: Identity | undefined;
  switch (fields.kind) {
    case 'posix-shm':
    case 'posix-sem': {
      const st = fs.statSync(fields.path!, { throwIfNoEntry: false });
      if (st === undefined) throw notFound(object);
      identity = { dev: st.dev, ino: st.ino, link: fields.path! };
      break;
    }
    case 'posix-mq': {
      try {
        const st = binding.posixQueueStat!(fields.name!);
        Object.assign(stat, {
          uid: st.uid,
          gid: st.gid,
          mode: st.mode,
          messages: st.messages,
          maxMessages: st.maxMessages,
          messageSize: st.messageSize,
        });
        identity = { dev: st.dev, ino: st.ino, link: fields.name! };
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ENOENT') throw notFound(object);
        if (code !== 'EACCES') throw error;
      }
      break;
    }
    case 'sysv-shm':
      identity = { shmid: fields.id! };
      break;
    case 'sysv-sem':
      try {
        stat.semaphoreValues = binding.sysvSemaphoreValues!(fields.id!);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'EINVAL' || code === 'EIDRM') throw notFound(object);
        if (code !== 'EACCES') throw error;
      }
      break;
    default:
      break;
  }
  if (identity !== undefined) {
    const { holders, unseen } = holdersOf(identity);
    stat.holders = holders;
    stat.holdersUnseen = unseen;
  }
  if (fields.kind === 'posix-sem') {
    // Opening it maps it into this process for a moment, after the holders were looked for.
    try {
      const sem = Semaphore.open(fields.name!);
      try {
        stat.value = sem.value;
      } finally {
        sem.close();
      }
    } catch (error) {
      if ((error as { code?: string }).code !== 'EACCES') throw error;
    }
  }
  return stat;
}

// ---- removal ----

const SYSV_KIND_NUMBERS = { 'sysv-mq': 0, 'sysv-sem': 1, 'sysv-shm': 2 } as const;

function removeObject(object: IpcObject): void {
  switch (object.kind) {
    case 'posix-shm':
      SharedMemory.unlink(object.name!);
      return;
    case 'posix-sem':
      Semaphore.unlink(object.name!);
      return;
    case 'posix-mq':
      PosixMessageQueue.unlink(object.name!);
      return;
    case 'sysv-shm':
    case 'sysv-sem':
    case 'sysv-mq': {
      // Ids are reused: remove only while the id still names the object that was listed.
      const now = list({ kind: object.kind, id: object.id! })[0];
      if (now === undefined || (now.key !== object.key && !(now.removed === true && now.key === 0))) throw notFound(object);
      binding.sysvRemoveId!(SYSV_KIND_NUMBERS[object.kind], object.id!);
      return;
    }
    default:
      throw new IpcError(
        ErrorCodes.UNSUPPORTED_PLATFORM,
        `A ${IPC_OBJECT_KIND_NAMES[object.kind]} cannot be removed: it goes when its last handle closes`,
      );
  }
}

// ---- limits ----

/**
 * The kernel limits that bite users of IPC, read at the call. `null` where this host has no
 * such limit or it cannot be read. shmmax and shmall are often 2^64 - 2^24 - 1 (no limit in
 * practice), which a number only approximates.
 */
export interface IpcLimits {
  /** System V queues: largest message (bytes), most bytes per queue, most queues (kernel.msgmax, msgmnb, msgmni). */
  msgmax: number | null;
  msgmnb: number | null;
  msgmni: number | null;
  /** POSIX queues: most messages and largest message a queue may be created with, most queues (fs.mqueue.*), and the defaults of a queue created without attributes. */
  msg_max: number | null;
  msgsize_max: number | null;
  queues_max: number | null;
  msg_default: number | null;
  msgsize_default: number | null;
  /** Bytes of POSIX queues one user may have (RLIMIT_MSGQUEUE, this process's soft limit; Infinity: none). */
  rlimitMsgqueue: number | null;
  /** System V semaphores: per set, in the system, per semop call, sets (kernel.sem). */
  semmsl: number | null;
  semmns: number | null;
  semopm: number | null;
  semmni: number | null;
  /** POSIX semaphores: the largest value (SEM_VALUE_MAX). */
  semValueMax: number | null;
  /** System V shared memory: largest segment (bytes), all segments (pages), segments (kernel.shmmax, shmall, shmmni). */
  shmmax: number | null;
  shmall: number | null;
  shmmni: number | null;
  /** The page size shmall counts in. */
  pageSize: number | null;
  /** The file system behind POSIX shared memory and semaphores: total, free, and free for this user (bytes). */
  devShm: { path: string; size: number; free: number; available: number } | null;
}

function procNumbers(file: string): number[] | null {
  const text = readText(file);
  if (text === undefined) return null;
  const values = text.trim().split(/\s+/).map(Number);
  return values.every(Number.isFinite) ? values : null;
}
const procNumber = (file: string): number | null => procNumbers(file)?.[0] ?? null;

function rlimitMsgqueue(): number | null {
  const text = readText('/proc/self/limits');
  const m = /^Max msgqueue size\s+(\S+)/m.exec(text ?? '');
  if (m === null) return null;
  return m[1] === 'unlimited' ? Infinity : int(m[1]);
}

function emptyLimits(): IpcLimits {
  return {
    msgmax: null,
    msgmnb: null,
    msgmni: null,
    msg_max: null,
    msgsize_max: null,
    queues_max: null,
    msg_default: null,
    msgsize_default: null,
    rlimitMsgqueue: null,
    semmsl: null,
    semmns: null,
    semopm: null,
    semmni: null,
    semValueMax: null,
    shmmax: null,
    shmall: null,
    shmmni: null,
    pageSize: null,
    devShm: null,
  };
}

/** The host's IPC limits now (see {@link IpcLimits}). */
export function limits(): IpcLimits {
  if (process.platform !== 'linux') {
    // None of these limits exists elsewhere (and under Wine, /proc would be the Linux host's).
    const none = emptyLimits();
    none.semValueMax = binding.semValueMax ?? null;
    return none;
  }
  const sem = procNumbers('/proc/sys/kernel/sem');
  let devShm: IpcLimits['devShm'] = null;
  if (process.platform === 'linux') {
    try {
      const s = fs.statfsSync(SHM_DIR);
      devShm = { path: SHM_DIR, size: s.blocks * s.bsize, free: s.bfree * s.bsize, available: s.bavail * s.bsize };
    } catch {
      devShm = null;
    }
  }
  return {
    msgmax: procNumber('/proc/sys/kernel/msgmax'),
    msgmnb: procNumber('/proc/sys/kernel/msgmnb'),
    msgmni: procNumber('/proc/sys/kernel/msgmni'),
    msg_max: procNumber('/proc/sys/fs/mqueue/msg_max'),
    msgsize_max: procNumber('/proc/sys/fs/mqueue/msgsize_max'),
    queues_max: procNumber('/proc/sys/fs/mqueue/queues_max'),
    msg_default: procNumber('/proc/sys/fs/mqueue/msg_default'),
    msgsize_default: procNumber('/proc/sys/fs/mqueue/msgsize_default'),
    rlimitMsgqueue: rlimitMsgqueue(),
    semmsl: sem?.[0] ?? null,
    semmns: sem?.[1] ?? null,
    semopm: sem?.[2] ?? null,
    semmni: sem?.[3] ?? null,
    semValueMax: binding.semValueMax ?? null,
    shmmax: procNumber('/proc/sys/kernel/shmmax'),
    shmall: procNumber('/proc/sys/kernel/shmall'),
    shmmni: procNumber('/proc/sys/kernel/shmmni'),
    pageSize: binding.pageSize ?? null,
    devShm,
  };
}

// The `ipckit` command: ls, stat, rm, limits and bench over lib/introspect.ts. Human output is an
// aligned table; --json is for scripts and keeps its shape; errors go to stderr with a non-zero
// exit status (1: the operation failed, 2: the command line was wrong).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { parseArgs as nodeParseArgs } from 'node:util';
import { packageRoot } from './binding';
import { ErrorCodes, IpcError } from './errors';
import { posixName } from './names';
import {
  IPC_OBJECT_KIND_NAMES,
  IPC_OBJECT_KINDS,
  limits,
  list,
  type IpcLimits,
  type IpcObject,
  type IpcObjectKind,
  type IpcObjectStat,
  type ListFilter,
} from './introspect';

/** Where the command writes and reads; the real process's by default (tests pass their own). */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

/** node:util's parseArgs, whose every complaint (an unknown option, a missing value) is a usage error. */
const parseArgs: typeof nodeParseArgs = (config) => {
  try {
    return nodeParseArgs(config);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
};

const HELP: Record<string, string> = {
  main: `Usage: ipckit <command> [options]

See and clean the host's IPC objects: POSIX shared memory, semaphores and message queues,
System V queues, semaphore sets and shared memory (and named pipes on Windows).

Commands:
  ls        list the IPC objects this process can see
  stat      show one object in full, with the processes that have it open or mapped
  rm        remove objects (asks first unless --yes)
  limits    show the kernel limits that govern IPC, and how much of each is in use
  bench     run ipckit's benchmark suite (from a source checkout)
  help      show this, or a command's help: ipckit help rm

Every command takes --help. Exit status: 0 done, 1 failed, 2 bad command line.`,
  ls: `Usage: ipckit ls [--kind KIND[,KIND...]] [--json]

Lists the IPC objects this process can see, with kind, name or key and id, owner, group, mode,
size or use, and the pids the kernel records. A world-readable or world-writable object is
flagged in the NOTE column. Kinds that cannot be listed here are named on stderr (in --json,
under "unlisted"), never silently left out.

Options:
  --kind KIND   only these kinds: ${IPC_OBJECT_KINDS.join(', ')}
  --json        {"objects": [...], "unlisted": [{"kind", "reason"}]}, one object per entry with
                every field (null where the kind has none); dates as ISO strings
  -h, --help    show this`,
  stat: `Usage: ipckit stat TARGET... [--kind KIND] [--id ID] [--json]

Shows each object TARGET names in full, and the processes that have it open or mapped (read
from /proc/<pid>/fd and /proc/<pid>/maps: as root every process, otherwise your own).

TARGET is a POSIX name ('/frames' or 'frames'), or a System V key (decimal or 0x hex; a key
names every System V object made with it). A name that looks like a number needs its slash.

Options:
  --kind KIND   only objects of this kind (${IPC_OBJECT_KINDS.join(', ')})
  --id ID       a System V object by id (needed for IPC_PRIVATE objects, whose key is 0)
  --json        {"objects": [...]}: ls's fields plus holders, holdersUnseen, value,
                maxMessages, messageSize, semaphoreValues
  -h, --help    show this`,
  rm: `Usage: ipckit rm TARGET... [--kind KIND] [--id ID] [--yes] [--json]

Removes the objects TARGET names (as in ipckit stat): shm_unlink, sem_unlink, mq_unlink, or
IPC_RMID. Processes that still have an object open or mapped keep it until they let go. Asks
for confirmation on a terminal; anywhere else it refuses unless --yes. Names are IPC names,
never paths: '/', '..', NUL bytes and names longer than NAME_MAX are refused. The kernel
decides who may remove an object; a refusal (EACCES, EPERM) removes nothing and exits 1.

Options:
  --kind KIND   only objects of this kind
  --id ID       a System V object by id
  --yes, -y     do not ask
  --json        {"removed": [...], "failed": [{"object", "code", "message"}]}
  -h, --help    show this`,
  limits: `Usage: ipckit limits [--json]

Shows the kernel limits that bite users of IPC (System V queues, semaphores and shared memory,
POSIX queues, the space left in /dev/shm) with how much of each is in use, and where to change
them.

Options:
  --json        {"limits": {...}, "usage": {...}}: limits as ipckit's limits() returns them
  -h, --help    show this`,
  bench: `Usage: ipckit bench [--quick] [-- suite options]

Runs ipckit's benchmark suite (bench/suite.js: the Channel, the queues, Node's own IPC and C
baselines, pinned with taskset). The suite is part of the source repository, not of the
installed package; it needs a C compiler for its baselines.

Options:
  --quick       few repetitions and sizes
  -h, --help    show this`,
};

// ---- formatting ----

/** Left-aligned columns two spaces apart; the last column is not padded. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function idNames(file: string): Map<number, string> {
  const names = new Map<number, string>();
  try {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && /^\d+$/.test(id)) names.set(Number(id), name);
    }
  } catch {
    // No such file (Windows, a minimal container): ids are shown as numbers.
  }
  return names;
}
let users: Map<number, string> | undefined;
let groups: Map<number, string> | undefined;
const userName = (uid: number | null) => (uid === null ? '-' : ((users ??= idNames('/etc/passwd')).get(uid) ?? String(uid)));
const groupName = (gid: number | null) => (gid === null ? '-' : ((groups ??= idNames('/etc/group')).get(gid) ?? String(gid)));

function modeText(mode: number | null): string {
  if (mode === null) return '-';
  const bits = 'rwxrwxrwx'.replace(/./g, (c, i: number) => (mode & (0o400 >> i) ? c : '-'));
  return `${mode.toString(8).padStart(4, '0')} ${bits}`;
}

function keyText(key: number | null): string {
  if (key === null) return '-';
  if (key === 0) return 'IPC_PRIVATE';
  return `0x${(key >>> 0).toString(16).padStart(8, '0')}`;
}

function bytes(n: number | null): string {
  if (n === null) return '-';
  if (n < 10240) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || Number.isInteger(value) ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function useText(o: IpcObject): string {
  if (o.messages !== null) return plural(o.messages, 'message');
  if (o.semaphores !== null) return plural(o.semaphores, 'semaphore');
  if (o.attachCount !== null) return `${o.attachCount} attached`;
  return '-';
}

function pidsText(o: IpcObject): string {
  const parts: string[] = [];
  if (o.creatorPid !== null) parts.push(`creator ${o.creatorPid}`);
  if (o.lastPid !== null) parts.push(`last ${o.lastPid}`);
  if (o.lastSendPid !== null) parts.push(`send ${o.lastSendPid}`);
  if (o.lastReceivePid !== null) parts.push(`receive ${o.lastReceivePid}`);
  if (o.notifyPid !== null) parts.push(`notify ${o.notifyPid}`);
  return parts.length === 0 ? '-' : parts.join(' ');
}

function noteText(o: IpcObject): string {
  const notes: string[] = [];
  if (o.mode !== null && o.mode & 0o002) notes.push('world-writable');
  else if (o.mode !== null && o.mode & 0o004) notes.push('world-readable');
  if (o.removed === true) notes.push('removed, still attached');
  return notes.join(', ');
}

const label = (o: { kind: IpcObjectKind; name: string | null; key: number | null; id: number | null }) =>
  o.name ?? `key ${keyText(o.key)} id ${o.id}`;

const dateText = (d: Date | null) =>
  d === null
    ? '-'
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC');

// ---- targets ----

const SYSV_KINDS: IpcObjectKind[] = ['sysv-shm', 'sysv-sem', 'sysv-mq'];
const NAMED_KINDS: IpcObjectKind[] = ['posix-shm', 'posix-sem', 'posix-mq', 'windows-pipe'];

function parseKinds(value: string | undefined): IpcObjectKind[] | undefined {
  if (value === undefined) return undefined;
  const kinds = value.split(',').map((k) => k.trim());
  for (const kind of kinds) {
    if (!(IPC_OBJECT_KINDS as readonly string[]).includes(kind)) {
      throw new UsageError(`unknown kind '${kind}': the kinds are ${IPC_OBJECT_KINDS.join(', ')}`);
    }
  }
  return kinds as IpcObjectKind[];
}

function parseNumber(text: string, what: string): number {
  if (!/^(-?\d+|0x[0-9a-f]+)$/i.test(text)) throw new UsageError(`${what} must be a number (decimal or 0x hex), not '${text}'`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < -(2 ** 31) || value > 2 ** 32 - 1) throw new UsageError(`${what} ${text} does not fit in 32 bits`);
  return value;
}

/** The objects one target names; ERR_IPC_NOT_FOUND when none. Names go through the library's own validation. */
function resolve(target: string | undefined, kinds: IpcObjectKind[] | undefined, id: number | undefined): IpcObject[] {
  const filter: ListFilter = {};
  let allowed: IpcObjectKind[];
  let what: string;
  if (target === undefined) {
    // --id alone
    allowed = SYSV_KINDS;
    filter.id = id;
    what = `System V object with id ${id}`;
  } else if (/^(-?\d+|0x[0-9a-f]+)$/i.test(target)) {
    const key = parseNumber(target, 'a key');
    if (key === 0 && id === undefined) throw new UsageError('key 0 is IPC_PRIVATE, which names no object: give the object with --id');
    allowed = SYSV_KINDS;
    filter.key = key | 0;
    if (id !== undefined) filter.id = id;
    what = `System V object with key ${keyText(key | 0)}${id === undefined ? '' : ` and id ${id}`}`;
  } else {
    if (id !== undefined) throw new UsageError('--id is for System V objects; a name names a POSIX object');
    allowed = NAMED_KINDS;
    const pipe = process.platform === 'win32' && target.toLowerCase().startsWith('\\\\.\\pipe\\');
    filter.name = pipe ? target : posixName(target, 'name'); // ERR_INVALID_ARG_VALUE for '../x', 'a/b', NUL bytes, overlong names
    what = `object named ${JSON.stringify(filter.name)}`;
  }
  const chosen = kinds === undefined ? allowed : kinds.filter((k) => allowed.includes(k));
  if (chosen.length === 0)
    throw new UsageError(
      `--kind ${kinds!.join(',')} cannot match a ${target === undefined || filter.key !== undefined ? 'System V key or id' : 'name'}`,
    );
  filter.kind = chosen;
  const found = list(filter);
  if (found.length === 0) {
    const also = found.unlisted.length > 0 ? ` (${found.unlisted.map((u) => u.reason).join('; ')})` : '';
    throw new IpcError(ErrorCodes.NOT_FOUND, `No ${what} among ${chosen.map((k) => IPC_OBJECT_KIND_NAMES[k]).join(', ')}${also}`);
  }
  return found;
}

function resolveAll(
  targets: string[],
  kinds: IpcObjectKind[] | undefined,
  id: number | undefined,
  onError: (target: string, error: unknown) => void,
): IpcObject[] {
  if (targets.length === 0) {
    if (id === undefined) throw new UsageError('name at least one object (a POSIX name or a System V key), or --id');
    try {
      return resolve(undefined, kinds, id);
    } catch (error) {
      onError(`--id ${id}`, error);
      return [];
    }
  }
  const out: IpcObject[] = [];
  for (const target of targets) {
    try {
      for (const o of resolve(target, kinds, id)) if (!out.some((p) => p.kind === o.kind && p.name === o.name && p.id === o.id)) out.push(o);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      onError(shown(target), error);
    }
  }
  return out;
}

/** A target as typed, quoted when it holds anything a terminal would not show as it is. */
const shown = (target: string): string => (/^[\x21-\x7e]*$/.test(target) ? target : JSON.stringify(target));

function errorText(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const message = e.message ?? String(error);
  return e.code !== undefined && !message.startsWith(`${e.code}:`) ? `${message} (${e.code})` : message;
}

/** Why a removal was refused, in terms of the object's owner and mode. */
function permissionHint(o: IpcObject): string {
  const me = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const owner = `owned by ${userName(o.uid)}${o.cuid !== null && o.cuid !== o.uid ? `, created by ${userName(o.cuid)}` : ''}, mode ${modeText(o.mode)}`;
  const who = me === undefined ? '' : `; you are ${userName(me)}`;
  const rule = o.kind.startsWith('sysv-')
    ? 'only its owner, its creator or root may remove a System V object'
    : 'removing a name from /dev/shm needs write permission on the directory, and its sticky bit leaves others\u2019 objects to their owner and root';
  return `${owner}${who}: ${rule}`;
}

// ---- commands ----

function ls(args: string[], io: CliIo): number {
  const { values } = parseArgs({
    args,
    options: { kind: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: false,
  });
  if (values.help) return help('ls', io);
  const kinds = parseKinds(values.kind);
  const found = list(kinds === undefined ? undefined : { kind: kinds });
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ objects: found, unlisted: found.unlisted }, null, 2)}\n`);
    return 0;
  }
  const rows = found.map((o) => [
    o.kind,
    o.name ?? keyText(o.key),
    o.id === null ? '-' : String(o.id),
    userName(o.uid),
    groupName(o.gid),
    modeText(o.mode),
    bytes(o.size),
    useText(o),
    pidsText(o),
    noteText(o),
  ]);
  if (rows.length > 0) io.stdout.write(table(['KIND', 'NAME/KEY', 'ID', 'OWNER', 'GROUP', 'MODE', 'SIZE', 'USE', 'PIDS', 'NOTE'], rows));
  else io.stdout.write('No IPC objects found.\n');
  for (const u of found.unlisted) io.stderr.write(`ipckit ls: note: ${u.reason}\n`);
  return 0;
}

function statText(s: IpcObjectStat): string {
  const lines: [string, string][] = [];
  const add = (k: string, v: string | null) => {
    if (v !== null && v !== '-') lines.push([k, v]);
  };
  add('path', s.path);
  if (s.key !== null) add('key', `${keyText(s.key)} (${s.key})`);
  if (s.id !== null) add('id', String(s.id));
  add('owner', s.uid === null ? null : `${userName(s.uid)} (uid ${s.uid}), group ${groupName(s.gid)} (gid ${s.gid})`);
  if (s.cuid !== null) add('creator', `${userName(s.cuid)} (uid ${s.cuid}), group ${groupName(s.cgid)} (gid ${s.cgid})`);
  add(
    'mode',
    s.mode === null ? null : `${modeText(s.mode)}${noteText(s as unknown as IpcObject) ? `  (${noteText(s as unknown as IpcObject)})` : ''}`,
  );
  if (s.size !== null) add('size', `${s.size} bytes${s.size >= 10240 ? ` (${bytes(s.size)})` : ''}`);
  if (s.messages !== null)
    add('messages', `${s.messages}${s.maxMessages !== null ? ` of at most ${s.maxMessages}, each at most ${s.messageSize} bytes` : ''}`);
  if (s.value !== null) add('value', String(s.value));
  if (s.semaphores !== null) add('semaphores', String(s.semaphores));
  if (s.semaphoreValues !== null) {
    s.semaphoreValues.forEach((v, i) =>
      add(`  [${i}]`, `value ${v.value}, last pid ${v.lastPid}, ${v.waiting} waiting to take, ${v.waitingForZero} waiting for zero`),
    );
  }
  if (s.attachCount !== null) add('attached', `${s.attachCount}${s.removed ? ' (removed: goes when the last detaches)' : ''}`);
  add('pids', pidsText(s as unknown as IpcObject));
  add('changed', s.changeTime === null ? null : dateText(s.changeTime));
  add('modified', s.modifyTime === null ? null : dateText(s.modifyTime));
  add('last send', s.lastSendTime === null ? null : dateText(s.lastSendTime));
  add('last receive', s.lastReceiveTime === null ? null : dateText(s.lastReceiveTime));
  add('last semop', s.lastOpTime === null ? null : dateText(s.lastOpTime));
  add('last attach', s.attachTime === null ? null : dateText(s.attachTime));
  add('last detach', s.detachTime === null ? null : dateText(s.detachTime));
  if (s.holders === null) add('holders', 'not recorded by the kernel for this kind (see pids)');
  else add('holders', s.holders.length === 0 ? 'none' : plural(s.holders.length, 'process', 'processes'));
  const width = Math.max(...lines.map(([k]) => k.length));
  let out = `${IPC_OBJECT_KIND_NAMES[s.kind]} ${label(s)}\n` + lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}\n`).join('');
  if (s.holders !== null && s.holders.length > 0) {
    const rows = s.holders.map((h) => [
      String(h.pid),
      h.command,
      userName(h.uid),
      h.fds.length === 0 ? '-' : h.fds.join(','),
      String(h.mappings),
      bytes(h.mappedBytes),
    ]);
    const text = table(['PID', 'COMMAND', 'USER', 'FDS', 'MAPPINGS', 'MAPPED'], rows);
    out += text
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}\n`)
      .join('');
  }
  if (s.holders !== null && s.holdersUnseen > 0) {
    out += `  (${plural(s.holdersUnseen, 'process', 'processes')} could not be inspected${process.getuid?.() === 0 ? '' : ': run as root to see every holder'})\n`;
  }
  return out;
}

function stat(args: string[], io: CliIo): number {
  const { values, positionals } = parseArgs({
    args,
    options: { kind: { type: 'string' }, id: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) return help('stat', io);
  const kinds = parseKinds(values.kind);
  const id = values.id === undefined ? undefined : parseNumber(values.id, '--id');
  let failed = false;
  const report = (target: string, error: unknown) => {
    failed = true;
    io.stderr.write(`ipckit stat: ${target}: ${errorText(error)}\n`);
  };
  const stats: IpcObjectStat[] = [];
  for (const o of resolveAll(positionals, kinds, id, report)) {
    try {
      stats.push(o.stat());
    } catch (error) {
      report(label(o), error);
    }
  }
  if (values.json) io.stdout.write(`${JSON.stringify({ objects: stats }, null, 2)}\n`);
  else io.stdout.write(stats.map(statText).join('\n'));
  return failed ? EXIT_FAILED : 0;
}

function ask(io: CliIo, question: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const rl = readline.createInterface({ input: io.stdin, output: io.stderr, terminal: false });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolvePromise(/^\s*y(es)?\s*$/i.test(line));
    });
    rl.once('close', () => {
      if (!answered) resolvePromise(false);
    });
    io.stderr.write(question);
  });
}

async function rm(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      kind: { type: 'string' },
      id: { type: 'string' },
      yes: { type: 'boolean', short: 'y' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) return help('rm', io);
  const kinds = parseKinds(values.kind);
  const id = values.id === undefined ? undefined : parseNumber(values.id, '--id');
  const failed: { object: unknown; code: string | null; message: string }[] = [];
  const report = (target: string, error: unknown, object: unknown = target) => {
    const code = (error as { code?: string }).code ?? null;
    failed.push({ object, code, message: (error as Error).message ?? String(error) });
    io.stderr.write(`ipckit rm: ${target}: ${errorText(error)}\n`);
  };
  const chosen = resolveAll(positionals, kinds, id, report);
  const removed: IpcObject[] = [];
  if (chosen.length > 0 && !values.yes) {
    if (io.stdin.isTTY !== true) {
      io.stderr.write(`ipckit rm: not removing ${plural(chosen.length, 'object')} without confirmation (stdin is not a terminal): pass --yes\n`);
      return EXIT_FAILED;
    }
    for (const o of chosen) {
      let holders = '';
      try {
        const s = o.stat();
        if (s.holders !== null && s.holders.length > 0) holders = `; still held by ${s.holders.map((h) => `${h.pid} (${h.command})`).join(', ')}`;
      } catch {
        // Shown without its holders.
      }
      io.stderr.write(`  ${IPC_OBJECT_KIND_NAMES[o.kind]} ${label(o)}: owner ${userName(o.uid)}, mode ${modeText(o.mode)}${holders}\n`);
    }
    if (!(await ask(io, `Remove ${chosen.length === 1 ? 'it' : `these ${chosen.length}`}? [y/N] `))) {
      io.stderr.write('ipckit rm: nothing removed\n');
      return EXIT_FAILED;
    }
  }
  for (const o of chosen) {
    try {
      o.remove();
      removed.push(o);
      if (!values.json) io.stdout.write(`removed ${IPC_OBJECT_KIND_NAMES[o.kind]} ${label(o)}\n`);
    } catch (error) {
      const code = (error as { code?: string }).code;
      const hint = code === 'EACCES' || code === 'EPERM' ? ` (${permissionHint(o)})` : '';
      report(`${IPC_OBJECT_KIND_NAMES[o.kind]} ${label(o)}`, Object.assign(new Error(`${(error as Error).message}${hint}`), { code }), o);
    }
  }
  if (values.json) io.stdout.write(`${JSON.stringify({ removed, failed }, null, 2)}\n`);
  return failed.length > 0 ? EXIT_FAILED : 0;
}

interface Usage {
  msgmni: number;
  msgBytes: number;
  semmni: number;
  semmns: number;
  shmmni: number;
  shmBytes: number;
  shmPages: number | null;
  posixQueues: number | null;
  devShmUsed: number | null;
}

function usage(l: IpcLimits): Usage {
  const all = list();
  const of = (kind: IpcObjectKind) => all.filter((o) => o.kind === kind);
  const shmBytes = of('sysv-shm').reduce((sum, o) => sum + (o.size ?? 0), 0);
  const listedQueues = !all.unlisted.some((u) => u.kind === 'posix-mq');
  return {
    msgmni: of('sysv-mq').length,
    msgBytes: of('sysv-mq').reduce((sum, o) => sum + (o.size ?? 0), 0),
    semmni: of('sysv-sem').length,
    semmns: of('sysv-sem').reduce((sum, o) => sum + (o.semaphores ?? 0), 0),
    shmmni: of('sysv-shm').length,
    shmBytes,
    shmPages: l.pageSize === null ? null : of('sysv-shm').reduce((sum, o) => sum + Math.ceil((o.size ?? 0) / l.pageSize!), 0),
    posixQueues: listedQueues ? of('posix-mq').length : null,
    devShmUsed: l.devShm === null ? null : l.devShm.size - l.devShm.free,
  };
}

function limitText(value: number | null, unit: 'bytes' | 'count' | 'pages'): string {
  if (value === null) return '-';
  if (value === Infinity) return 'unlimited';
  if (value >= 2 ** 53) return 'no limit (2^64 - 2^24 - 1 or near)';
  return unit === 'bytes' && value >= 10240 ? `${value} (${bytes(value)})` : String(value);
}

function limitsCommand(args: string[], io: CliIo): number {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: false });
  if (values.help) return help('limits', io);
  const l = limits();
  const u = usage(l);
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ limits: l, usage: u }, null, 2)}\n`);
    return 0;
  }
  const n = (v: number | null) => (v === null ? '-' : String(v));
  const rows: [string, string, string, string, string][] = [
    ['msgmax', limitText(l.msgmax, 'bytes'), '-', 'kernel.msgmax', 'largest System V message (bytes)'],
    ['msgmnb', limitText(l.msgmnb, 'bytes'), '-', 'kernel.msgmnb', 'most bytes one System V queue holds'],
    ['msgmni', limitText(l.msgmni, 'count'), n(u.msgmni), 'kernel.msgmni', 'System V queues'],
    ['msg_max', limitText(l.msg_max, 'count'), '-', 'fs.mqueue.msg_max', 'most messages a POSIX queue may be created with'],
    ['msgsize_max', limitText(l.msgsize_max, 'bytes'), '-', 'fs.mqueue.msgsize_max', 'largest message a POSIX queue may be created with (bytes)'],
    ['queues_max', limitText(l.queues_max, 'count'), n(u.posixQueues), 'fs.mqueue.queues_max', 'POSIX queues'],
    ['msg_default', limitText(l.msg_default, 'count'), '-', 'fs.mqueue.msg_default', 'a POSIX queue made without attributes: messages'],
    [
      'msgsize_default',
      limitText(l.msgsize_default, 'bytes'),
      '-',
      'fs.mqueue.msgsize_default',
      'a POSIX queue made without attributes: message size',
    ],
    ['rlimitMsgqueue', limitText(l.rlimitMsgqueue, 'bytes'), '-', 'ulimit -q (RLIMIT_MSGQUEUE)', 'bytes of POSIX queues one user may have'],
    ['semmsl', limitText(l.semmsl, 'count'), '-', 'kernel.sem (1st)', 'semaphores per System V set'],
    ['semmns', limitText(l.semmns, 'count'), n(u.semmns), 'kernel.sem (2nd)', 'System V semaphores in all sets'],
    ['semopm', limitText(l.semopm, 'count'), '-', 'kernel.sem (3rd)', 'operations per semop call'],
    ['semmni', limitText(l.semmni, 'count'), n(u.semmni), 'kernel.sem (4th)', 'System V semaphore sets'],
    ['semValueMax', limitText(l.semValueMax, 'count'), '-', 'SEM_VALUE_MAX', 'largest POSIX semaphore value'],
    ['shmmax', limitText(l.shmmax, 'bytes'), '-', 'kernel.shmmax', 'largest System V segment (bytes)'],
    [
      'shmall',
      limitText(l.shmall, 'pages'),
      n(u.shmPages),
      'kernel.shmall',
      `System V shared memory in all segments (pages of ${l.pageSize ?? '?'} bytes)`,
    ],
    ['shmmni', limitText(l.shmmni, 'count'), n(u.shmmni), 'kernel.shmmni', 'System V segments'],
  ];
  if (l.devShm !== null) {
    rows.push([
      'devShm',
      limitText(l.devShm.size, 'bytes'),
      limitText(u.devShmUsed, 'bytes'),
      `size= of the ${l.devShm.path} mount`,
      `space for POSIX shared memory and semaphores; ${bytes(l.devShm.available)} free for you`,
    ]);
  }
  io.stdout.write(table(['LIMIT', 'VALUE', 'USED', 'SET BY', 'MEANING'], rows));
  return 0;
}

function bench(args: string[], io: CliIo): Promise<number> | number {
  if (args.includes('--help') || args.includes('-h')) return help('bench', io);
  const suite = path.join(packageRoot, 'bench', 'suite.js');
  if (!fs.existsSync(suite)) {
    io.stderr.write(
      'ipckit bench: the benchmark suite is not part of the installed package (it compiles C baselines and writes its results next to itself).\n' +
        'Run it from a checkout of the source repository: npm install && npm run bench\n',
    );
    return EXIT_FAILED;
  }
  const forwarded = args[0] === '--' ? args.slice(1) : args.filter((a) => a !== '--');
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [suite, ...forwarded], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(io.stdout, { end: false });
    child.stderr.pipe(io.stderr, { end: false });
    child.on('error', (error) => {
      io.stderr.write(`ipckit bench: ${error.message}\n`);
      resolvePromise(EXIT_FAILED);
    });
    child.on('close', (code) => resolvePromise(code === 0 ? 0 : EXIT_FAILED));
  });
}

function help(topic: string | undefined, io: CliIo): number {
  if (topic !== undefined && HELP[topic] === undefined) {
    io.stderr.write(`ipckit: no command '${topic}'\n\n${HELP.main}\n`);
    return EXIT_USAGE;
  }
  io.stdout.write(`${HELP[topic ?? 'main']}\n`);
  return 0;
}

const COMMANDS: Record<string, (args: string[], io: CliIo) => number | Promise<number>> = {
  ls,
  list: ls,
  stat,
  rm,
  remove: rm,
  limits: limitsCommand,
  bench,
  help: (args, io) => help(args[0], io),
};

/** Runs the command line `argv` (without node and the script); resolves with the exit status. */
export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    if (command === undefined) {
      io.stderr.write(`${HELP.main}\n`);
      return EXIT_USAGE;
    }
    return help(undefined, io);
  }
  if (command === '--version' || command === '-v') {
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
    io.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    io.stderr.write(`ipckit: unknown command '${command}' (ipckit --help lists them)\n`);
    return EXIT_USAGE;
  }
  const name = command === 'list' ? 'ls' : command === 'remove' ? 'rm' : command;
  try {
    return await run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`ipckit ${name}: ${(error as Error).message}\n(ipckit ${name} --help shows the options)\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`ipckit ${name}: ${errorText(error)}\n`);
    return EXIT_FAILED;
  }
}

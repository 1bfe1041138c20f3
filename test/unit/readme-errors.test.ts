// The README's Errors section lists every call that can appear in `error.syscall` and every code
// ipckit itself raises, and nothing else: both lists are read out of the sources here, so a new
// failing call or code without its row (or a row left behind by a removed one) fails this test.
//
// Native code names the failing call as a string literal, either straight in an OsError{...} or
// through a function that takes it as a `const char* syscall` (or `call`) parameter and passes it
// on (LastOsError, OsFailure, ErrnoError, LockResult, ...). Such functions are found by that
// parameter, not by a hand-kept list, and every call of one must pass a literal there or forward
// its own parameter: anything else (a name computed at run time) fails the test, since the README
// could then not be checked against it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes } from '../../lib';
import { repoRoot } from '../helpers';

interface Source {
  file: string;
  text: string;
}

function sources(dir: string, extensions: string[]): Source[] {
  const found: Source[] = [];
  for (const entry of fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sources(relative, extensions));
    else if (extensions.some((ext) => entry.name.endsWith(ext)))
      found.push({ file: relative, text: fs.readFileSync(path.join(repoRoot, relative), 'utf8') });
  }
  return found;
}

/** Comments out of C++ or TypeScript, keeping line breaks (string literals here hold no comment markers). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/\/\/[^\n]*/g, '');
}

/** The top-level arguments of the call or braced initializer whose opening bracket is at `open`. */
function argumentsAt(text: string, open: number): string[] {
  const close = text[open] === '(' ? ')' : '}';
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      i = text.indexOf('"', i + 1);
      continue;
    }
    if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') depth--;
    if (depth === 0 && c === close) {
      args.push(text.slice(start, i).trim());
      return args;
    }
    if (depth === 1 && c === ',') {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  throw new Error(`unbalanced brackets after offset ${open}`);
}

const lineOf = (text: string, index: number) => text.slice(0, index).split('\n').length;
const LITERAL = /^"([A-Za-z_][A-Za-z0-9_]*)"$/;
const FORWARDED = /^(?:const\s+char\s*\*\s*)?(?:syscall|call)$/;

/** Every syscall name native code can report, and the call sites it could not read one from. */
function nativeSyscalls(): { names: Set<string>; unreadable: string[] } {
  // native/stub/ is the build for other platforms (no primitives): its names never appear on Linux.
  const files = sources('native', ['.cc', '.h'])
    .filter((s) => !s.file.startsWith('native/stub/'))
    .map((s) => ({ ...s, text: withoutComments(s.text) }));
  // Where each reporter takes the call's name: OsError{code, syscall, path}, plus every function
  // with a `const char* syscall` / `const char* call` parameter.
  const reporters = new Map<string, number>([['OsError', 1]]);
  for (const { text } of files) {
    for (const m of text.matchAll(/\b([A-Za-z_]\w*)\s*\(([^()]*\bconst\s+char\s*\*\s*(?:syscall|call)\b[^()]*)\)/g)) {
      const params = m[2].split(',').map((p) => p.trim());
      reporters.set(
        m[1],
        params.findIndex((p) => FORWARDED.test(p.replace(/\s*=.*$/, ''))),
      );
    }
  }
  const names = new Set<string>();
  const unreadable: string[] = [];
  // `OsError{...}` and `OsError error{...}` alike.
  const use = new RegExp(`(?<!struct\\s)\\b(${[...reporters.keys()].join('|')})(?:\\s+[A-Za-z_]\\w*)?\\s*([({])`, 'g');
  for (const { file, text } of files) {
    for (const m of text.matchAll(use)) {
      if (m[1] === 'OsError' && m[2] === '(') continue; // only its braced form builds one
      const arg = argumentsAt(text, m.index + m[0].length - 1)[reporters.get(m[1])!];
      const literal = arg === undefined ? null : LITERAL.exec(arg);
      if (literal) names.add(literal[1]);
      else if (arg === undefined || !(FORWARDED.test(arg) || arg === 'nullptr' || /^const\s+char\s*\*/.test(arg))) {
        unreadable.push(`${file}:${lineOf(text, m.index)}: ${m[1]}(... ${arg ?? '(no such argument)'} ...)`);
      }
    }
  }
  return { names, unreadable };
}

/** Syscall names lib/ passes to systemError() itself. */
function libSyscalls(): Set<string> {
  const names = new Set<string>();
  for (const { text } of sources('lib', ['.ts'])) {
    const code = withoutComments(text);
    for (const m of code.matchAll(/\bsystemError\(/g)) {
      const arg = argumentsAt(code, m.index + m[0].length - 1)[1];
      const literal = arg === undefined ? null : /^['"]([a-z_][a-z0-9_]*)['"]$/.exec(arg);
      if (literal) names.add(literal[1]);
    }
  }
  return names;
}

/** Every ERR_* code written in lib/ or native/, and ErrorCodes' values. */
function libraryCodes(): Set<string> {
  const codes = new Set<string>(Object.values(ErrorCodes));
  for (const { text } of [...sources('lib', ['.ts']), ...sources('native', ['.cc', '.h'])]) {
    for (const m of withoutComments(text).matchAll(/['"](ERR_[A-Z0-9_]+)['"]/g)) codes.add(m[1]);
  }
  return codes;
}

const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const section = /^## Errors\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';

/** The names in backticks in the first column of the section's table whose header starts with `header`. */
function firstColumn(header: string): string[] {
  const lines = section.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${header} |`));
  if (start < 0) return [];
  const names: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cell = line.split('|')[1];
    for (const m of cell.matchAll(/`([^`]+)`/g)) names.push(m[1]);
  }
  return names;
}

const syscalls = nativeSyscalls();
const allSyscalls = new Set([...syscalls.names, ...libSyscalls()]);
const codes = libraryCodes();

test('the sources are read: every reporting call names its syscall as a literal or forwards its parameter', () => {
  expect(syscalls.unreadable).toEqual([]);
  // A reshaped reporter that this test no longer recognises would shrink the lists silently.
  for (const known of ['shm_open', 'msgrcv', 'semop', 'sem_open', 'mq_open', 'futex', 'pthread_create', 'pthread_mutex_lock']) {
    expect(allSyscalls).toContain(known);
  }
  for (const known of ['ERR_IPC_CLOSED', 'ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_ILLEGAL_CONSTRUCTOR']) expect(codes).toContain(known);
  expect(section).not.toBe('');
});

test("the README's syscall table has one row for every call that can appear in error.syscall, and no other", () => {
  const rows = firstColumn('`syscall`');
  expect({ missing: [...allSyscalls].filter((s) => !rows.includes(s)).sort() }).toEqual({ missing: [] });
  expect({ stale: rows.filter((s) => !allSyscalls.has(s)) }).toEqual({ stale: [] });
  expect({ repeated: rows.filter((s, i) => rows.indexOf(s) !== i) }).toEqual({ repeated: [] });
});

test("the README's code table lists every code ipckit raises (ErrorCodes and every ERR_* in lib/ and native/), and no other", () => {
  const rows = firstColumn('code');
  expect({ missing: [...codes].filter((c) => !rows.includes(c)).sort() }).toEqual({ missing: [] });
  expect({ stale: rows.filter((c) => !codes.has(c)) }).toEqual({ stale: [] });
  expect({ repeated: rows.filter((c, i) => rows.indexOf(c) !== i) }).toEqual({ repeated: [] });
});

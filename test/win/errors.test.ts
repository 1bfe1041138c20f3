// Win32 errors become Node's codes, with the raw Win32 value kept (native/win/errors.cc). The
// libuv numbers the addon hard-codes are checked against the node.exe that runs this suite.
import { getSystemErrorMap, getSystemErrorName } from 'node:util';
import { binding } from '../../lib/binding';
import type { SystemError } from '../../lib';

const table = binding.win32Errors!();

test('every libuv number in the table is the one this node.exe gives that name', () => {
  const known = getSystemErrorMap();
  const mapped = table.filter((row) => row.errno !== 0);
  expect(mapped.length).toBeGreaterThan(40);
  for (const row of mapped) expect({ osCode: row.osCode, known: known.has(row.errno) }).toEqual({ osCode: row.osCode, known: true });
});

test.each([
  [2, 'ERROR_FILE_NOT_FOUND', 'ENOENT'],
  [3, 'ERROR_PATH_NOT_FOUND', 'ENOENT'],
  [5, 'ERROR_ACCESS_DENIED', 'EACCES'],
  [109, 'ERROR_BROKEN_PIPE', 'EPIPE'],
  [183, 'ERROR_ALREADY_EXISTS', 'EEXIST'],
  [231, 'ERROR_PIPE_BUSY', 'EBUSY'],
  [232, 'ERROR_NO_DATA', 'EPIPE'],
  [234, 'ERROR_MORE_DATA', 'EMSGSIZE'],
  [995, 'ERROR_OPERATION_ABORTED', 'ECANCELED'],
  [121, 'ERROR_SEM_TIMEOUT', 'ETIMEDOUT'],
])('Win32 %i (%s) is %s, and the error keeps the Win32 code', (osErrno, osCode, code) => {
  const error = binding.systemErrorFor!(osErrno, '\\\\.\\pipe\\x') as SystemError;
  expect(error.code).toBe(code);
  expect(getSystemErrorName(error.errno)).toBe(code);
  expect(error.osErrno).toBe(osErrno);
  expect(error.osCode).toBe(osCode);
  expect(error.syscall).toBe('CreateFileW');
  expect(error.path).toBe('\\\\.\\pipe\\x');
  expect(error.message).toMatch(new RegExp(`^${code}: .*, CreateFileW '\\\\\\\\\\.\\\\pipe\\\\x'$`));
});

test('a Win32 code libuv has no name for keeps its Win32 name as the code', () => {
  const error = binding.systemErrorFor!(536, 'x') as SystemError; // ERROR_PIPE_LISTENING: mapped to ENOTCONN
  expect(error.code).toBe('ENOTCONN');
  const unknown = binding.systemErrorFor!(1326, 'x') as SystemError; // ERROR_LOGON_FAILURE: not in the table
  expect(unknown.code).toBe('WIN32_1326');
  expect(unknown.osErrno).toBe(1326);
  expect(unknown.message.length).toBeGreaterThan('WIN32_1326: '.length);
});

// ftok's path, like every other path argument, refuses NUL bytes: the C string would end there and
// name another file ('/tmp\0/x' would be '/tmp').
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ftok } from '../../lib';
import { binding } from '../../lib/binding';
import { scratchDir, thrown } from '../helpers';

test.each(['/tmp\0/x', '/tmp\0', '\0', `${'/tmp'}\0${'a'.repeat(100)}`])('ftok(%j) is ERR_INVALID_ARG_VALUE', (file) => {
  const error = thrown(() => ftok(file, 1));
  expect(error).toBeInstanceOf(TypeError);
  expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
});

test('a file that exists past the NUL makes no difference', () => {
  const dir = scratchDir();
  const file = path.join(dir, 'ftok-nul');
  fs.writeFileSync(file, '');
  expect(ftok(dir, 1)).not.toBe(ftok(file, 1));
  expect(thrown(() => ftok(`${dir}\0/ftok-nul`, 1)).code).toBe('ERR_INVALID_ARG_VALUE');
  expect(thrown(() => ftok(`${file}\0`, 1)).code).toBe('ERR_INVALID_ARG_VALUE');
  // Without the NUL, both are fine.
  expect(ftok(file, 1)).toBe(ftok(file, 1));
});

test('the native ftok refuses a NUL byte too', () => {
  expect(thrown(() => binding.ftok!('/tmp\0/x', 1))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  expect(binding.ftok!('/tmp', 1)).toBe(ftok('/tmp', 1));
});

// Wrong arguments to every public entry point: each one is refused with a coded error (or, where
// the value happens to be valid, works), and the process never crashes.
import { runNode } from '../helpers';

test('every entry point refuses wrong arguments with a coded error and the process survives', async () => {
  const result = await runNode('garbage.js', [], { timeout: 60000 });
  expect(result.signal).toBeNull();
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const outcomes = JSON.parse(result.stdout) as { label: string; ok?: boolean; name?: string; code?: string }[];
  expect(outcomes.length).toBe(16 * 32);
  const uncoded = outcomes.filter((o) => !o.ok && (typeof o.code !== 'string' || !/^(ERR_|E[A-Z0-9]+$)/.test(o.code)));
  expect(uncoded).toEqual([]);
  // Argument errors are TypeError/RangeError; the few that reach the OS carry its code.
  const argumentErrors = outcomes.filter((o) => o.code?.startsWith('ERR_INVALID_ARG') || o.code === 'ERR_OUT_OF_RANGE');
  expect(argumentErrors.every((o) => o.name === 'TypeError' || o.name === 'RangeError')).toBe(true);
  expect(argumentErrors.length).toBeGreaterThan(outcomes.length / 2);
});

// The numbers that cross the binding are the addon's: frozen in binding.constants, handed out by
// lib/ as they are, and for the shared-memory layouts the very ones a C program compiling
// native/include/ipckit/sync.h gets.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Barrier, Condition, Mutex } from '../../lib';
import { binding, LimitNames, QueueFlags, SemaphoreFlags, SemOpFlags, ShmFlags } from '../../lib/binding';
import { scratchDir } from '../helpers';

const repoRoot = path.join(__dirname, '..', '..');

function frozenThroughout(value: unknown, where: string, out: string[]): void {
  if (value === null || typeof value !== 'object') return;
  if (!Object.isFrozen(value)) out.push(where);
  for (const [key, inner] of Object.entries(value)) frozenThroughout(inner, `${where}.${key}`, out);
}

test('binding.constants is frozen at every level, so no caller can change what another reads', () => {
  const thawed: string[] = [];
  frozenThroughout(binding.constants, 'constants', thawed);
  expect(thawed).toEqual([]);
  // Modules are strict: writing a frozen property throws.
  expect(() => {
    (binding.constants.queueFlags as { CREATE: number }).CREATE = 8;
  }).toThrow(TypeError);
  expect(binding.constants.queueFlags.CREATE).toBe(1);
});

test("lib/ hands out the addon's own tables, not copies of its own", () => {
  expect(QueueFlags).toBe(binding.constants.queueFlags);
  expect(SemOpFlags).toBe(binding.constants.semOpFlags);
  expect(SemaphoreFlags).toBe(binding.constants.semaphoreFlags);
  expect(ShmFlags).toBe(binding.constants.shmFlags);
  expect(LimitNames).toBe(binding.constants.limits);
  // Each table's bits are distinct, or one flag would read as another.
  for (const table of [QueueFlags, SemOpFlags, SemaphoreFlags, ShmFlags]) {
    const bits = Object.values(table);
    expect(bits.reduce((all, bit) => all | bit, 0)).toBe(bits.reduce((sum, bit) => sum + bit, 0));
  }
});

test('the sync layout, offsets, macros and result codes are what C compiling ipckit/sync.h gets', () => {
  const source = path.join(scratchDir(), 'layout.c');
  fs.writeFileSync(
    source,
    `#include <stddef.h>
#include <stdio.h>
#include "ipckit/sync.h"
int main(void) {
  printf("{\\"version\\":%u,\\"alignment\\":%u,", IPCKIT_SYNC_VERSION, IPCKIT_SYNC_ALIGN);
  printf("\\"mutex\\":{\\"size\\":%zu},", sizeof(ipckit_mutex_t));
  printf("\\"condition\\":{\\"size\\":%zu,\\"seqOffset\\":%zu},", sizeof(ipckit_cond_t), offsetof(ipckit_cond_t, seq));
  printf("\\"barrier\\":{\\"size\\":%zu,\\"stateOffset\\":%zu,\\"maxParties\\":%u,\\"generationMask\\":%u},",
         sizeof(ipckit_barrier_t), offsetof(ipckit_barrier_t, state), IPCKIT_BARRIER_MAX_PARTIES, IPCKIT_BARRIER_GENERATION_MASK);
  printf("\\"results\\":{\\"OK\\":%d,\\"NOT_EQUAL\\":%d,\\"TIMED_OUT\\":%d,\\"OWNER_DIED\\":%d,\\"SERIAL\\":%d,\\"BUSY\\":%d}}\\n",
         IPCKIT_OK, IPCKIT_NOT_EQUAL, IPCKIT_TIMED_OUT, IPCKIT_OWNER_DIED, IPCKIT_SERIAL, -EBUSY);
  return 0;
}
`,
  );
  const program = path.join(scratchDir(), 'layout');
  execFileSync('cc', ['-D_GNU_SOURCE', '-Wall', '-Werror', '-I', path.join(repoRoot, 'native', 'include'), '-o', program, source, '-lpthread']);
  const fromC = JSON.parse(execFileSync(program, { encoding: 'utf8' }));
  const { condWaitFlags, ...layout } = binding.constants.sync!;
  expect(layout).toEqual(fromC);
  expect(condWaitFlags.TIMED_OUT & condWaitFlags.OWNER_DIED).toBe(0);
  // The classes size themselves from it.
  expect([Mutex.SIZE, Condition.SIZE, Barrier.SIZE]).toEqual([fromC.mutex.size, fromC.condition.size, fromC.barrier.size]);
});

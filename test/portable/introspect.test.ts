// list() and limits() with the portable API: on Linux a POSIX shared memory object, under the
// Windows suite a named pipe (the one kind Windows lets anyone enumerate), with the kinds Windows
// cannot list named in `unlisted` rather than left out silently.
import { NamedPipeServer, SharedMemory, limits, list } from '../../lib';
import { binding } from '../../lib/binding';
import { uniqueName } from '../helpers';

const windows = process.platform === 'win32';

test('list() finds an object this process made, and names what it cannot list', () => {
  if (windows) {
    const name = uniqueName('portable-list').slice(1);
    const server = NamedPipeServer.create(name);
    try {
      const found = list({ kind: 'windows-pipe' });
      const cannot = ['windows-mapping', 'windows-semaphore', 'windows-mailslot'];
      const wine = binding.wineVersion?.() ?? null;
      if (wine !== null) {
        // Wine lists \\.\pipe\ as empty whatever it holds: list() says it cannot see pipes there.
        expect(found).toHaveLength(0);
        expect(found.unlisted.map((u) => u.kind)).toEqual([...cannot, 'windows-pipe']);
        expect(found.unlisted[3].reason).toMatch(/^Wine .* does not enumerate/);
      } else {
        expect(found.map((o) => o.name!.toLowerCase())).toContain(`\\\\.\\pipe\\${name}`.toLowerCase());
        expect(found.unlisted.map((u) => u.kind)).toEqual(cannot);
        const [mine] = list({ kind: 'windows-pipe', name: `\\\\.\\pipe\\${name}` });
        expect(mine).toMatchObject({ kind: 'windows-pipe', uid: null, mode: null });
      }
    } finally {
      server.close();
    }
  } else {
    const name = uniqueName('portable-list');
    const shm = SharedMemory.create(name, { size: 4096 });
    try {
      expect(list({ name }).map((o) => [o.kind, o.size])).toEqual([['posix-shm', 4096]]);
    } finally {
      shm.close();
      SharedMemory.unlink(name);
    }
  }
});

test("limits() has the host's IPC limits, or null where the host has none", () => {
  const l = limits();
  if (windows) {
    // Not the Linux host's /proc under Wine: Windows has none of these.
    expect(Object.entries(l).filter(([k, v]) => v !== null && k !== 'semValueMax')).toEqual([]);
    expect(l.semValueMax).toBe(2 ** 31 - 1);
  } else {
    expect(l.msgmax).toBeGreaterThan(0);
    expect(l.devShm!.size).toBeGreaterThan(0);
  }
});

// How objects are named is decided once, in the addon: a System V key as ipcs shows it (in
// error.path and in lib/'s own messages alike), and the room glibc's "sem." prefix leaves a
// semaphore's name, which is exactly where the filesystem starts refusing it.
import * as fs from 'node:fs';
import { Semaphore, SysVMessageQueue, SysVSemaphoreSet } from '../../lib';
import { thrown } from '../helpers';

const NAME_MAX = 255;

test('a System V key is shown the same way by the OS errors and by lib/, negative keys as unsigned', () => {
  // key_t is signed: -2 is the key ipcs lists as 0xfffffffe.
  const key = -(0x2000 + (process.pid & 0xfff) * 0x10 + Math.floor(Math.random() * 0x10));
  const shown = `0x${(key >>> 0).toString(16).padStart(8, '0')}`;
  const q = SysVMessageQueue.create(key);
  const set = SysVSemaphoreSet.create(key, { count: 1 });
  try {
    expect(thrown(() => SysVMessageQueue.create(key))).toMatchObject({ code: 'EEXIST', path: shown });
    expect(thrown(() => SysVSemaphoreSet.create(key, { count: 1 }))).toMatchObject({ code: 'EEXIST', path: shown });
  } finally {
    q.remove();
    q.close();
    set.remove();
    set.close();
  }
  expect(thrown(() => q.trySend('x')).message).toBe(`The System V message queue ${shown} is closed`);
  expect(thrown(() => set.tryOp([{ index: 0, delta: 1 }])).message).toBe(`The System V semaphore set ${shown} is closed`);
  const anonymous = SysVMessageQueue.createPrivate();
  anonymous.remove();
  anonymous.close();
  expect(thrown(() => anonymous.trySend('x')).message).toBe('The System V message queue IPC_PRIVATE is closed');
});

test('a semaphore name may take what NAME_MAX leaves after "sem.", and that is where the filesystem stops too', () => {
  const stem = `ipckit-lim-${process.pid}-`;
  const longest = stem + 'x'.repeat(NAME_MAX - 'sem.'.length - stem.length);
  const sem = Semaphore.create(`/${longest}`);
  try {
    expect(fs.existsSync(`/dev/shm/sem.${longest}`)).toBe(true);
  } finally {
    sem.close();
    Semaphore.unlink(sem.name);
  }
  const error = thrown(() => Semaphore.create(`/${longest}x`));
  expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
  expect(error.message).toContain(`at most ${longest.length} bytes`);
  expect(error.message).toContain('"sem." prefix');
  // The file such a name would need cannot exist: the check refuses nothing the OS would allow.
  expect(thrown(() => fs.openSync(`/dev/shm/sem.${longest}x`, 'wx'))).toMatchObject({ code: 'ENAMETOOLONG' });
});

// Semaphore between two processes, with the portable API only: POSIX named semaphores on Linux,
// named Windows semaphores under the Windows suite (native/win/named_sem.cc).
import { Semaphore } from '../../lib';
import { binding } from '../../lib/binding';
import { thrown, uniqueName } from '../helpers';
import { runPortable, startPortable } from './peer';

const windows = process.platform === 'win32';
const made: string[] = [];
function newName(): string {
  const name = uniqueName('portable-sem');
  made.push(name);
  return name;
}
afterEach(() => {
  for (const name of made.splice(0)) {
    try {
      Semaphore.unlink(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
});

test('the platform has named semaphores, up to VALUE_MAX = 2^31 - 1', () => {
  expect(binding.features.namedSemaphore).toBe(true);
  expect(Semaphore.VALUE_MAX).toBe(2 ** 31 - 1);
});

test('a wait in another process is woken by a post here, and takes exactly one', async () => {
  const name = newName();
  using sem = Semaphore.create(name, { initial: 0 });
  const peer = startPortable(['sem-wait', name]);
  await peer.ready;
  let exited = false;
  void peer.done.then(() => (exited = true));
  // It holds the semaphore open and waits: nothing to take yet.
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(exited).toBe(false);
  sem.post();
  sem.post();
  const result = await peer.done;
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout.trim().split(/\r?\n/).pop()!)).toEqual({ took: true, value: 1 });
  expect(sem.value).toBe(1);
  expect(sem.tryWait()).toBe(true);
  expect(sem.tryWait()).toBe(false);
});

test('posts from another process are taken here, one tryWait each', async () => {
  const name = newName();
  using sem = Semaphore.create(name);
  expect(sem.created).toBe(true);
  expect(sem.tryWait()).toBe(false);
  expect(await runPortable(['sem-post', name, '5'])).toEqual({ posted: 5, exit: 0 });
  expect(sem.value).toBe(5);
  let taken = 0;
  while (sem.tryWait()) taken++;
  expect(taken).toBe(5);
  expect(sem.value).toBe(0);
});

test('create of a held name is EEXIST; open of a name nobody holds is ENOENT; openOrCreate keeps the value', () => {
  const name = newName();
  using sem = Semaphore.create(name, { initial: 3 });
  expect(thrown(() => Semaphore.create(name)).code).toBe('EEXIST');
  expect(thrown(() => Semaphore.open(newName())).code).toBe('ENOENT');
  using again = Semaphore.openOrCreate(name, { initial: 9 });
  expect(again.created).toBe(false);
  expect(again.value).toBe(3);
  expect(sem.value).toBe(3);
});

test('wait: timeout rejects with ERR_IPC_TIMEOUT and takes nothing; a later post is still there', async () => {
  const name = newName();
  using sem = Semaphore.create(name);
  await expect(sem.wait({ timeout: 50 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
  expect(() => sem.waitSync({ timeout: 20 })).toThrow(expect.objectContaining({ code: 'ERR_IPC_TIMEOUT' }));
  expect(await runPortable(['sem-post', name, '1'])).toEqual({ posted: 1, exit: 0 });
  await sem.wait({ timeout: 60_000 });
  expect(sem.value).toBe(0);
});

test('wait: abort rejects with ERR_IPC_ABORTED; close while waiting rejects with ERR_IPC_CLOSED', async () => {
  const name = newName();
  const sem = Semaphore.create(name);
  // A second handle keeps the name after sem.close() (on Windows it goes with the last handle).
  using other = Semaphore.open(name);
  const controller = new AbortController();
  const aborted = sem.wait({ signal: controller.signal });
  let settled = false;
  void aborted.catch(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(settled).toBe(false);
  controller.abort();
  await expect(aborted).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED' });
  const closing = sem.wait();
  await new Promise((resolve) => setTimeout(resolve, 50));
  sem.close();
  await expect(closing).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
  // Neither took anything: a post from another process is all there is.
  expect(await runPortable(['sem-post', name, '1'])).toEqual({ posted: 1, exit: 0 });
  expect(other.value).toBe(1);
});

test('waitSync on this thread is woken by a post from another process', async () => {
  const name = newName();
  using sem = Semaphore.create(name);
  const peer = startPortable(['sem-post', name, '1']);
  sem.waitSync({ timeout: 60_000 });
  expect((await peer.done).code).toBe(0);
  expect(sem.value).toBe(0);
});

test('a post past VALUE_MAX fails with EOVERFLOW, in another process too, and the value stays', async () => {
  const name = newName();
  using sem = Semaphore.create(name, { initial: Semaphore.VALUE_MAX });
  expect(sem.value).toBe(Semaphore.VALUE_MAX);
  expect(thrown(() => sem.post()).code).toBe('EOVERFLOW');
  expect(await runPortable(['sem-post-one', name])).toMatchObject({ code: 'EOVERFLOW', value: Semaphore.VALUE_MAX, exit: 0 });
  expect(sem.tryWait()).toBe(true);
  expect(sem.value).toBe(Semaphore.VALUE_MAX - 1);
});

test('names: a backslash is refused on Windows; unlink after close works on both', () => {
  const name = newName();
  if (windows) expect(thrown(() => Semaphore.create(`${name}\\x`)).code).toBe('ERR_INVALID_ARG_VALUE');
  Semaphore.create(name).close();
  expect(() => Semaphore.unlink(name)).not.toThrow();
  expect(thrown(() => Semaphore.open(name)).code).toBe('ENOENT');
});

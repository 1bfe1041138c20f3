// Both kinds of queue have one `spin` default (50 us): what a receive that finds its queue empty
// hands the addon as its spin, seen by wrapping the native handle's tryReceiveInto.
import { binding } from '../../lib/binding';
import { PosixMessageQueue, SysVMessageQueue } from '../../lib';
import { uniqueName } from '../helpers';

type Opener = (...args: never[]) => { tryReceiveInto(...args: unknown[]): number };

// Records the spin argument of every tryReceiveInto made through handles opened meanwhile.
function recordingSpins(opener: 'openSysVQueue' | 'openPosixQueue', spinIndex: number, body: (spins: unknown[]) => Promise<void>): Promise<void> {
  const native = binding as unknown as Record<string, Opener>;
  const real = native[opener];
  const spins: unknown[] = [];
  native[opener] = (...args) => {
    const handle = real(...args);
    const tryReceiveInto = handle.tryReceiveInto;
    // The addon's methods are read-only on the prototype: shadow this one on the instance.
    Object.defineProperty(handle, 'tryReceiveInto', {
      value: (...call: unknown[]) => {
        spins.push(call[spinIndex] ?? 0);
        return tryReceiveInto.apply(handle, call);
      },
    });
    return handle;
  };
  return body(spins).finally(() => {
    native[opener] = real;
  });
}

async function receiveThrice(receive: (options: object) => Promise<unknown>): Promise<void> {
  for (const options of [{ timeout: 1 }, { timeout: 1, spin: 0 }, { timeout: 1, spin: 200 }]) {
    await expect(receive(options)).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
  }
}

test('a System V receive on an empty queue spins 50 us unless told otherwise', async () => {
  await recordingSpins('openSysVQueue', 5, async (spins) => {
    const queue = SysVMessageQueue.createPrivate();
    try {
      await receiveThrice((options) => queue.receive(options));
    } finally {
      queue.remove();
      queue.close();
    }
    // timeout 1 ms bounds the spin at 1000 us, so the defaults show as they are.
    expect(spins).toEqual([50, 0, 200]);
  });
});

test('a POSIX receive on an empty queue spins 50 us unless told otherwise', async () => {
  await recordingSpins('openPosixQueue', 2, async (spins) => {
    const name = uniqueName('spin');
    const queue = PosixMessageQueue.create(name);
    try {
      await receiveThrice((options) => queue.receive(options));
    } finally {
      queue.close();
      queue.unlink();
    }
    expect(spins).toEqual([50, 0, 200]);
  });
});

// Data over detached memory (a transferred ArrayBuffer, or a Buffer or view of a closed
// SharedMemory) is refused with ERR_INVALID_ARG_VALUE by every send of both queue kinds, and
// nothing is sent; genuinely empty data is still an empty message.
import { IpcError, PosixMessageQueue, SharedMemory, SysVMessageQueue } from '../../lib';
import { shmNames, thrown, uniqueName } from '../helpers';

const newName = shmNames('detached');

function detachedData(): [string, unknown][] {
  const name = newName();
  const shm = SharedMemory.create(name, { size: 64 });
  const views: [string, unknown][] = [
    ['Buffer of a closed SharedMemory', shm.buffer],
    ['Int32Array of a closed SharedMemory', shm.view(Int32Array)],
    ['DataView of a closed SharedMemory', shm.view(DataView)],
    ['subarray of a closed SharedMemory', shm.buffer.subarray(8, 16)],
  ];
  shm.close();
  const transferred = new ArrayBuffer(16);
  const overTransferred = new Float64Array(transferred);
  structuredClone(transferred, { transfer: [transferred] });
  views.push(['transferred ArrayBuffer', transferred], ['Float64Array of a transferred ArrayBuffer', overTransferred]);
  return views;
}

test('System V sends refuse detached data and send nothing', async () => {
  const queue = SysVMessageQueue.createPrivate();
  try {
    for (const [what, data] of detachedData()) {
      expect({ what, code: thrown(() => queue.trySend(data as Buffer)).code }).toEqual({ what, code: 'ERR_INVALID_ARG_VALUE' });
      await expect(queue.send(data as Buffer)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    }
    expect(queue.stat().messages).toBe(0);
    expect(queue.trySend(new ArrayBuffer(0))).toBe(true);
    expect(queue.trySend(Buffer.alloc(0))).toBe(true);
    expect(queue.stat().messages).toBe(2);
  } finally {
    queue.remove();
    queue.close();
  }
});

test('POSIX sends refuse detached data and send nothing', async () => {
  const name = uniqueName('detached-q');
  const queue = PosixMessageQueue.create(name, { maxMessages: 4, messageSize: 64 });
  try {
    for (const [what, data] of detachedData()) {
      expect({ what, code: thrown(() => queue.trySend(data as Buffer)).code }).toEqual({ what, code: 'ERR_INVALID_ARG_VALUE' });
      await expect(queue.send(data as Buffer)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    }
    expect(queue.attributes.currentMessages).toBe(0);
    expect(queue.trySend(new Uint8Array(0))).toBe(true);
    expect(queue.attributes.currentMessages).toBe(1);
  } finally {
    queue.close();
    PosixMessageQueue.unlink(name);
  }
});

test('errors describe detached data without throwing: IpcError refuses a message that is not a string', () => {
  for (const [what, data] of detachedData()) {
    // String() of a detached typed array throws a TypeError of its own; the coded error must come instead.
    expect({ what, code: thrown(() => new IpcError('ERR_X', data as string)).code }).toEqual({ what, code: 'ERR_INVALID_ARG_TYPE' });
  }
  const message = thrown(() => new IpcError('ERR_X', new Uint8Array(2) as unknown as string)).message;
  expect(message).toBe('The "message" argument must be of type string. Received an instance of Uint8Array');
  expect(new IpcError('ERR_X', 'text').message).toBe('text');
});

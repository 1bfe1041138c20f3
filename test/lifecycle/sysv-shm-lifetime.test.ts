// System V attachments that are never closed: the garbage collector and worker teardown detach
// them (a Buffer still held keeps its attachment until it goes too), as they unmap SharedMemory.
import { runNode } from '../helpers';

test('dropped handles are detached by their finalizer, worker teardown detaches what a worker left attached', async () => {
  const result = await runNode('sysv-shm-gc-child.js', [], { nodeArgs: ['--expose-gc'], timeout: 60000 });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({
    attachedWhileBufferHeld: 2, // the owner, and the dropped handle whose Buffer is still held
    bufferReadable: 'kept',
    afterBufferDropped: 1,
    afterHandleDropped: 1,
    inEndingWorker: 3,
    afterWorkerEnded: 1,
    inTerminatedWorker: 2,
    afterWorkerTerminated: 1,
    ownerSeesWorkerBytes: [1, 2],
    afterRemoveAndClose: -1, // gone from /proc/sysvipc/shm
  });
});

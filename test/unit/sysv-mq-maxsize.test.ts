// A System V receive's maxSize is bounded by the kernel's msgmax: no message can be larger, and a
// larger bound only sized buffers after it (2 GiB for 2^29; a RangeError about an internal size
// from 2^30 on).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { SysVMessageQueue } from '../../lib';
import { binding, QueueFlags } from '../../lib/binding';
import { thrown } from '../helpers';

const msgmax = Number(fs.readFileSync('/proc/sys/kernel/msgmax', 'utf8'));
const made: number[] = [];
afterEach(() => {
  for (const id of made.splice(0)) spawnSync('ipcrm', ['-q', String(id)], { stdio: 'ignore' });
});
function fresh(): SysVMessageQueue {
  const queue = SysVMessageQueue.createPrivate();
  made.push(queue.id);
  return queue;
}
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error) => error as NodeJS.ErrnoException,
  );

test.each([msgmax + 1, 2 ** 29, 2 ** 30, 2 ** 31 - 1, 2 ** 40])(
  'maxSize %d is ERR_OUT_OF_RANGE naming msgmax, for tryReceive and receive',
  async (maxSize) => {
    const queue = fresh();
    expect(queue.messageMax).toBe(msgmax);
    for (const error of [thrown(() => queue.tryReceive({ maxSize })), await rejection(queue.receive({ maxSize, timeout: 1000 }))]) {
      expect(error).toBeInstanceOf(RangeError);
      expect(error.code).toBe('ERR_OUT_OF_RANGE');
      expect(error.message).toContain(`<= ${msgmax}`);
      expect(error.message).toContain('/proc/sys/kernel/msgmax');
      expect(error.message).not.toContain('8,589,934,620');
    }
    // Nothing was consumed or left waiting.
    expect(queue.trySend('still here')).toBe(true);
    expect(queue.tryReceive({ maxSize: msgmax })?.data.toString()).toBe('still here');
    queue.close();
  },
);

test('maxSize up to msgmax still receives, and a message of exactly msgmax bytes fits', async () => {
  const queue = fresh();
  const big = Buffer.alloc(msgmax, 7);
  expect(queue.trySend(big)).toBe(true);
  expect(queue.tryReceive({ maxSize: msgmax })?.data.equals(big)).toBe(true);
  await queue.send(big);
  expect((await queue.receive({ maxSize: msgmax })).data.equals(big)).toBe(true);
  expect(queue.trySend('abc')).toBe(true);
  expect(queue.tryReceive({ maxSize: 0, noError: true })?.data.length).toBe(0);
  queue.close();
});

test('the native receive refuses a maxSize past msgmax too, before allocating for it', async () => {
  const handle = binding.openSysVQueue!(0, QueueFlags.CREATE | QueueFlags.PRIVATE, 0o600);
  made.push(handle.id);
  for (const maxSize of [msgmax + 1, 2 ** 33, -1]) {
    expect(thrown(() => handle.receive(1, -1, 0, maxSize, false))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => handle.tryReceiveInto(0, Buffer.alloc(64), 0, maxSize, false))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  }
  handle.close();
});

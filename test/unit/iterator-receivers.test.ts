// The async iterators of the handles check their receiver at the call, as every other method
// does: applied to something that is not a handle of the class, they throw a TypeError at once,
// rather than handing out a generator whose first next() fails with an uncoded error inside.
import * as ipckit from '../../lib';

const efd = ipckit.EventFd.create();
afterAll(() => efd.close());

const cases: [string, (self: unknown) => unknown][] = [
  ['Channel[Symbol.asyncIterator]', (self) => ipckit.Channel.prototype[Symbol.asyncIterator].call(self as never)],
  ['EventFd[Symbol.asyncIterator]', (self) => ipckit.EventFd.prototype[Symbol.asyncIterator].call(self as never)],
  ['Mailslot.messages', (self) => ipckit.Mailslot.prototype.messages.call(self as never)],
  ['NamedPipe.messages', (self) => ipckit.NamedPipe.prototype.messages.call(self as never)],
];

test.each(cases)('%s applied to a wrong receiver throws a TypeError at the call', (_label, call) => {
  for (const self of [undefined, null, {}, Object.create(null), 5]) {
    expect(() => call(self)).toThrow(TypeError);
  }
});

test('an EventFd applied to another class’s iterator fails at the call too', () => {
  expect(() => ipckit.Channel.prototype[Symbol.asyncIterator].call(efd as never)).toThrow(TypeError);
});

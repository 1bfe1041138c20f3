// On Linux, Windows named pipes do not exist: the build lists no 'namedPipe' feature, every
// factory throws ERR_IPC_UNSUPPORTED_PLATFORM before it looks at its arguments or calls the
// system, and the classes cannot be constructed from outside (ERR_ILLEGAL_CONSTRUCTOR).
import { binding } from '../../lib/binding';
import { NamedPipe, NamedPipeServer } from '../../lib/named-pipe';

test('this Linux build has no named pipes', () => {
  expect(process.platform).toBe('linux');
  expect(binding.features.namedPipe).toBeUndefined();
  expect(binding.createPipeServer).toBeUndefined();
  expect(binding.newPipeClient).toBeUndefined();
});

test.each([
  ['NamedPipeServer.create', () => NamedPipeServer.create('\\\\.\\pipe\\ipckit-linux')],
  ['NamedPipeServer.create, bad arguments', () => NamedPipeServer.create(42 as unknown as string, { maxInstances: -1 })],
  ['NamedPipe.connect', () => NamedPipe.connect('ipckit-linux', { mode: 'message', timeout: 10 })],
  ['NamedPipe.connect, bad arguments', () => NamedPipe.connect('', { mode: 'x' as 'byte' })],
])('%s throws ERR_IPC_UNSUPPORTED_PLATFORM', (_what, call) => {
  expect(call).toThrow(expect.objectContaining({ code: 'ERR_IPC_UNSUPPORTED_PLATFORM', message: expect.stringContaining('linux') }));
});

test('the classes are made only by their factories: ERR_ILLEGAL_CONSTRUCTOR', () => {
  const Server = NamedPipeServer as unknown as new (...args: unknown[]) => unknown;
  const Pipe = NamedPipe as unknown as new (...args: unknown[]) => unknown;
  expect(() => new Server()).toThrow(expect.objectContaining({ code: 'ERR_ILLEGAL_CONSTRUCTOR' }));
  expect(() => new Pipe({})).toThrow(expect.objectContaining({ code: 'ERR_ILLEGAL_CONSTRUCTOR' }));
  expect(() => new Server(Symbol('ipckit construct'), {}, 'x', 'byte', 'duplex')).toThrow(
    expect.objectContaining({ code: 'ERR_ILLEGAL_CONSTRUCTOR' }),
  );
});

// Type tests of the public surface, against the declarations users get: `ipckit` and
// `ipckit/posix` resolve (through the `paths` of tsconfig.test.json and jest's moduleNameMapper)
// to dist/index.d.ts and dist/posix.d.ts, the files package.json's `exports` name; the last test
// checks that the three agree. ts-jest type-checks this file before jest runs it, so a failed
// assertion, or a `@ts-expect-error` line that compiles, fails the suite. Code that would do
// something when run (a create with wrong options) sits in functions that are never called.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expectTypeOf } from 'expect-type';
import * as root from 'ipckit';
import {
  Barrier,
  Condition,
  ErrorCodes,
  IpcError,
  MappedFile,
  Mutex,
  PosixMessageQueue,
  Semaphore,
  SharedMemory,
  SysVMessageQueue,
  SysVSemaphoreSet,
  wait,
  waitAsync,
  wake,
  type LockResult,
  type PosixMessage,
  type SharedMemoryCreateOptions,
  type SysVMessage,
  type WaitResult,
} from 'ipckit';
import * as posix from 'ipckit/posix';
import * as windows from 'ipckit/windows';
import { repoRoot } from '../helpers';

/** Type-checked, never run. */
const never = (fn: () => unknown): void => void fn;

test('static factories return their class', () => {
  for (const factory of [SharedMemory.create, SharedMemory.open, SharedMemory.openOrCreate])
    expectTypeOf(factory).returns.toEqualTypeOf<SharedMemory>();
  expectTypeOf(MappedFile.open).returns.toEqualTypeOf<MappedFile>();
  for (const factory of [SysVMessageQueue.create, SysVMessageQueue.open, SysVMessageQueue.openOrCreate, SysVMessageQueue.createPrivate]) {
    expectTypeOf(factory).returns.toEqualTypeOf<SysVMessageQueue>();
  }
  for (const factory of [PosixMessageQueue.create, PosixMessageQueue.open, PosixMessageQueue.openOrCreate])
    expectTypeOf(factory).returns.toEqualTypeOf<PosixMessageQueue>();
  for (const factory of [Semaphore.create, Semaphore.open, Semaphore.openOrCreate]) expectTypeOf(factory).returns.toEqualTypeOf<Semaphore>();
  for (const factory of [SysVSemaphoreSet.create, SysVSemaphoreSet.open, SysVSemaphoreSet.openOrCreate, SysVSemaphoreSet.createPrivate]) {
    expectTypeOf(factory).returns.toEqualTypeOf<SysVSemaphoreSet>();
  }
  for (const factory of [Mutex.create, Mutex.open]) expectTypeOf(factory).returns.toEqualTypeOf<Mutex>();
  for (const factory of [Condition.create, Condition.open]) expectTypeOf(factory).returns.toEqualTypeOf<Condition>();
  for (const factory of [Barrier.create, Barrier.open]) expectTypeOf(factory).returns.toEqualTypeOf<Barrier>();
  // Objects inside shared memory take any mapping: shared memory or a mapped file.
  expectTypeOf(Mutex.create).toBeCallableWith(null as unknown as SharedMemory, 0);
  expectTypeOf(Mutex.create).toBeCallableWith(null as unknown as MappedFile, 0);
});

test('option objects: what the documentation allows compiles, wrong types do not', () => {
  expectTypeOf<{ size: number; mode: number; reserve: boolean }>().toExtend<SharedMemoryCreateOptions>();
  expectTypeOf<SharedMemoryCreateOptions>().toHaveProperty('size').toEqualTypeOf<number>();
  never(() => {
    // @ts-expect-error size is required
    SharedMemory.create('/x', {});
    // @ts-expect-error size is a number
    SharedMemory.create('/x', { size: '4096' });
    // @ts-expect-error mode is a number
    SharedMemory.create('/x', { size: 1, mode: '600' });
    // @ts-expect-error reserve is a boolean
    SharedMemory.openOrCreate('/x', { size: 1, reserve: 1 });
    // @ts-expect-error readOnly is a boolean
    SharedMemory.open('/x', { readOnly: 'yes' });
    // @ts-expect-error names are strings
    SharedMemory.open(7);
    // @ts-expect-error create is a boolean
    MappedFile.open('/tmp/x', { create: 'yes' });
    // @ts-expect-error maxMessages is a number
    PosixMessageQueue.create('/q', { maxMessages: '5' });
    // @ts-expect-error a System V key is a number
    SysVMessageQueue.open('1234');
    // @ts-expect-error count is required
    SysVSemaphoreSet.create(1234, {});
    // @ts-expect-error initial is a number
    Semaphore.create('/s', { initial: '1' });
    // @ts-expect-error parties is required
    Barrier.create(SharedMemory.open('/x'), 0);
  });
  never(async () => {
    const queue = SysVMessageQueue.createPrivate();
    await queue.receive({ type: 2, maxSize: 100, noError: true, timeout: 50, signal: AbortSignal.timeout(10) });
    // @ts-expect-error timeout is a number of milliseconds
    await queue.receive({ timeout: '5' });
    // @ts-expect-error signal is an AbortSignal
    await queue.receive({ signal: {} });
    // @ts-expect-error tryReceive never waits, so it takes no timeout
    queue.tryReceive({ timeout: 5 });
    // @ts-expect-error a message type is a number
    await queue.send('x', { type: '1' });
    // @ts-expect-error data is a string, a view or an ArrayBuffer
    await queue.send(42);
    const words = SharedMemory.open('/x').view(Int32Array);
    // @ts-expect-error spin is a number of microseconds
    await waitAsync(words, 0, 0, { spin: 'fast' });
    // @ts-expect-error futex words are an Int32Array
    wait(new Uint32Array(4), 0, 0);
    // @ts-expect-error wait() blocks the thread, so it takes no AbortSignal
    wait(words, 0, 0, { signal: AbortSignal.abort() });
    // @ts-expect-error lockSync blocks the thread, so it takes no AbortSignal
    Mutex.open(SharedMemory.open('/x'), 0).lockSync({ signal: AbortSignal.abort() });
  });
});

test('receives resolve to Buffers with their message shapes', () => {
  expectTypeOf<SysVMessageQueue['receive']>().returns.resolves.toEqualTypeOf<SysVMessage>();
  expectTypeOf<SysVMessage>().toEqualTypeOf<{ type: number; data: Buffer }>();
  expectTypeOf<SysVMessageQueue['tryReceive']>().returns.toEqualTypeOf<SysVMessage | null>();
  expectTypeOf<PosixMessageQueue['receive']>().returns.resolves.toEqualTypeOf<PosixMessage>();
  expectTypeOf<PosixMessage>().toEqualTypeOf<{ data: Buffer; priority: number }>();
  expectTypeOf<PosixMessageQueue['tryReceive']>().returns.toEqualTypeOf<PosixMessage | null>();
  // for await yields the same shapes.
  expectTypeOf<SysVMessageQueue>().toExtend<AsyncIterable<SysVMessage>>();
  expectTypeOf<PosixMessageQueue>().toExtend<AsyncIterable<PosixMessage>>();
  expectTypeOf<ReturnType<SysVMessageQueue['messages']>>().toExtend<AsyncIterable<SysVMessage>>();
});

test('wait() and waitAsync() give the WaitResult union; locks report ownerDied', () => {
  expectTypeOf<WaitResult>().toEqualTypeOf<'ok' | 'not-equal' | 'timed-out'>();
  expectTypeOf(wait).returns.toEqualTypeOf<WaitResult>();
  expectTypeOf(waitAsync).returns.toEqualTypeOf<Promise<WaitResult>>();
  expectTypeOf(wake).returns.toEqualTypeOf<number>();
  expectTypeOf<Mutex['lock']>().returns.resolves.toEqualTypeOf<LockResult>();
  expectTypeOf<Mutex['lockSync']>().returns.toEqualTypeOf<LockResult>();
  expectTypeOf<LockResult>().toEqualTypeOf<{ ownerDied: boolean }>();
  expectTypeOf<Barrier['wait']>().returns.resolves.toEqualTypeOf<boolean>();
  expectTypeOf<Semaphore['wait']>().returns.resolves.toEqualTypeOf<void>();
});

test('views are typed by the constructor asked for', () => {
  expectTypeOf<SharedMemory['buffer']>().toEqualTypeOf<Buffer>();
  never(() => {
    const shm = SharedMemory.open('/x');
    // toExtend, not toEqualTypeOf: TypeScript 5.7 made typed arrays generic over their buffer, and
    // the constructors' instances are the ArrayBuffer kind. One typed array does not extend another.
    expectTypeOf(shm.view(Int32Array)).toExtend<Int32Array>();
    expectTypeOf(shm.view(Int32Array)).not.toExtend<Uint32Array>();
    expectTypeOf(shm.view(DataView, 8, 4)).toExtend<DataView>();
    expectTypeOf(shm.view(BigUint64Array)).toExtend<BigUint64Array>();
    expectTypeOf(MappedFile.open('/tmp/x').view(Float64Array)).toExtend<Float64Array>();
    // @ts-expect-error a Buffer is not a view constructor (the mapping's Buffer is `buffer`)
    shm.view(Buffer);
    // @ts-expect-error nor is Array
    shm.view(Array);
  });
});

test('handles are Disposable, so `using` closes them', () => {
  expectTypeOf<SharedMemory>().toExtend<Disposable>();
  expectTypeOf<MappedFile>().toExtend<Disposable>();
  expectTypeOf<SysVMessageQueue>().toExtend<Disposable>();
  expectTypeOf<PosixMessageQueue>().toExtend<Disposable>();
  expectTypeOf<Semaphore>().toExtend<Disposable>();
  expectTypeOf<SysVSemaphoreSet>().toExtend<Disposable>();
  expectTypeOf<SharedMemory['close']>().returns.toEqualTypeOf<void>();
  expectTypeOf<SysVMessageQueue['close']>().returns.toEqualTypeOf<void>();
  never(() => {
    using shm = SharedMemory.create('/x', { size: 8 });
    using file = MappedFile.open('/tmp/x');
    using queue = PosixMessageQueue.open('/q');
    using sysv = SysVMessageQueue.createPrivate();
    using sem = Semaphore.open('/s');
    using set = SysVSemaphoreSet.createPrivate({ count: 1 });
    return [shm.size, file.path, queue.name, sysv.id, sem.value, set.count];
  });
  never(() => {
    // @ts-expect-error what `using` takes needs a [Symbol.dispose]() method
    using plain = { close() {} };
    return plain;
  });
});

test('ErrorCodes are literal, read-only strings, and IpcError carries one', () => {
  expectTypeOf(ErrorCodes.CLOSED).toEqualTypeOf<'ERR_IPC_CLOSED'>();
  expectTypeOf(ErrorCodes.TIMEOUT).toEqualTypeOf<'ERR_IPC_TIMEOUT'>();
  expectTypeOf(ErrorCodes.ABORTED).toEqualTypeOf<'ERR_IPC_ABORTED'>();
  expectTypeOf(ErrorCodes.MESSAGE_TOO_LARGE).toEqualTypeOf<'ERR_IPC_MESSAGE_TOO_LARGE'>();
  expectTypeOf(ErrorCodes.MUTEX_HELD).toEqualTypeOf<'ERR_IPC_MUTEX_HELD'>();
  expectTypeOf(ErrorCodes.MUTEX_NOT_OWNER).toEqualTypeOf<'ERR_IPC_MUTEX_NOT_OWNER'>();
  expectTypeOf(ErrorCodes.MUTEX_NOT_RECOVERABLE).toEqualTypeOf<'ERR_IPC_MUTEX_NOT_RECOVERABLE'>();
  expectTypeOf(ErrorCodes.MUTEX_CORRUPT).toEqualTypeOf<'ERR_IPC_MUTEX_CORRUPT'>();
  expectTypeOf(ErrorCodes.INVALID_OBJECT).toEqualTypeOf<'ERR_IPC_INVALID_OBJECT'>();
  expectTypeOf(ErrorCodes.OBJECT_OVERLAP).toEqualTypeOf<'ERR_IPC_OBJECT_OVERLAP'>();
  expectTypeOf(ErrorCodes.UNSUPPORTED_PLATFORM).toEqualTypeOf<'ERR_IPC_UNSUPPORTED_PLATFORM'>();
  // Whatever codes are added later keep the prefix.
  expectTypeOf<(typeof ErrorCodes)[keyof typeof ErrorCodes]>().toExtend<`ERR_IPC_${string}`>();
  expectTypeOf<IpcError>().toExtend<Error>();
  expectTypeOf<IpcError['code']>().toEqualTypeOf<string>();
  never(() => {
    // @ts-expect-error the codes cannot be reassigned
    ErrorCodes.CLOSED = 'ERR_SOMETHING_ELSE';
  });
});

test('ipckit/posix holds the POSIX-only primitives, the same ones as the root', () => {
  expectTypeOf(posix.SysVMessageQueue).toEqualTypeOf(root.SysVMessageQueue);
  expectTypeOf(posix.SysVSemaphoreSet).toEqualTypeOf(root.SysVSemaphoreSet);
  expectTypeOf(posix.PosixMessageQueue).toEqualTypeOf(root.PosixMessageQueue);
  expectTypeOf(posix.ftok).toEqualTypeOf(root.ftok);
  expectTypeOf(posix.posixQueueLimits).toEqualTypeOf(root.posixQueueLimits);
  expectTypeOf<posix.SysVMessage>().toEqualTypeOf<root.SysVMessage>();
  expectTypeOf<posix.SemaphoreOp>().toEqualTypeOf<root.SemaphoreOp>();
  expectTypeOf<posix.PosixMessage>().toEqualTypeOf<root.PosixMessage>();
  expectTypeOf(posix.ftok).returns.toEqualTypeOf<number>();
  // The portable API lives at the root only.
  expectTypeOf(posix).not.toHaveProperty('SharedMemory');
  expectTypeOf(posix).not.toHaveProperty('Mutex');
  expectTypeOf(root).toHaveProperty('SharedMemory');
});

test('ipckit/windows holds the Windows-only primitives, the same ones as the root', () => {
  expectTypeOf(windows.NamedPipe).toEqualTypeOf(root.NamedPipe);
  expectTypeOf(windows.NamedPipeServer).toEqualTypeOf(root.NamedPipeServer);
  expectTypeOf(windows.Mailslot).toEqualTypeOf(root.Mailslot);
  expectTypeOf(windows.MailslotWriter).toEqualTypeOf(root.MailslotWriter);
  expectTypeOf(windows.NamedPipeServer.create).returns.toEqualTypeOf<root.NamedPipeServer>();
  expectTypeOf(windows.NamedPipe.connect).returns.toEqualTypeOf<Promise<root.NamedPipe>>();
  expectTypeOf(windows.Mailslot.create).returns.toEqualTypeOf<root.Mailslot>();
  expectTypeOf(windows.Mailslot.openWriter).returns.toEqualTypeOf<root.MailslotWriter>();
  expectTypeOf(windows.Mailslot.send).returns.toEqualTypeOf<void>();
  expectTypeOf<windows.MailslotInfo>().toEqualTypeOf<root.MailslotInfo>();
  expectTypeOf<windows.NamedPipeServerOptions>().toEqualTypeOf<root.NamedPipeServerOptions>();
  expectTypeOf<root.Mailslot['receive']>().returns.toEqualTypeOf<Promise<Buffer>>();
  expectTypeOf<root.NamedPipe>().toExtend<import('node:stream').Duplex>();
  never(() => {
    // @ts-expect-error a mode is 'byte' or 'message'
    windows.NamedPipeServer.create('x', { mode: 'datagram' });
  });
  expectTypeOf(windows).not.toHaveProperty('SharedMemory');
  expectTypeOf(windows).not.toHaveProperty('SysVMessageQueue');
});

test('the declarations tested here are the ones package.json exports', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    types: string;
    exports: Record<string, { types: string; require: string }>;
  };
  const tsconfig = JSON.parse(fs.readFileSync(path.join(repoRoot, 'tsconfig.test.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  const norm = (p: string) => path.normalize(p);
  expect(tsconfig.compilerOptions.paths).toEqual({
    ipckit: [pkg.exports['.'].types],
    'ipckit/posix': [pkg.exports['./posix'].types],
    'ipckit/windows': [pkg.exports['./windows'].types],
  });
  expect(norm(pkg.types)).toBe(norm(pkg.exports['.'].types));
  for (const types of [pkg.exports['.'].types, pkg.exports['./posix'].types, pkg.exports['./windows'].types])
    expect(fs.existsSync(path.join(repoRoot, types))).toBe(true);
  // At run time jest maps the names to the same files' JavaScript, as `require` would.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const jestConfig = require(path.join(repoRoot, 'jest.config.js')) as { moduleNameMapper: Record<string, string> };
  expect(jestConfig.moduleNameMapper).toMatchObject({
    '^ipckit$': `<rootDir>/${path.normalize(pkg.exports['.'].require)}`,
    '^ipckit/posix$': `<rootDir>/${path.normalize(pkg.exports['./posix'].require)}`,
    '^ipckit/windows$': `<rootDir>/${path.normalize(pkg.exports['./windows'].require)}`,
  });
});

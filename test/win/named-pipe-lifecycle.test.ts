// Windows named pipes: interop with Node's own net in both directions, ref/unref, teardown at
// process and worker exit, argument validation, and the security options, with the cases where
// Wine is known to differ from Windows (../shared/WINDOWS.md) stated in their names.
import { NamedPipe, NamedPipeServer } from '../../lib/named-pipe';
import { pipeName, startPeer, track, wine } from './pipe-helpers';

describe("interop with Node's net (byte mode)", () => {
  test("ipckit's client talks to a net server in another process", async () => {
    const name = pipeName('netsrv');
    const peer = startPeer('net-server', name);
    expect(await peer.next()).toEqual({ ready: true });
    const client = track(await NamedPipe.connect(name, { timeout: 20000 }));
    const reply = new Promise<string>((resolve) => client.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    await client.send('hello net');
    expect(await reply).toBe('HELLO NET');
    // Closing ends the net socket's stream ('end'); the server then closes and exits.
    client.close();
    expect((await peer.exited).code).toBe(0);
  });

  test("a net client in another process talks to ipckit's server", async () => {
    const name = pipeName('netcli');
    const server = track(NamedPipeServer.create(name));
    const peer = startPeer('net-client', name, 'hello ipckit');
    const pipe = track(await server.accept({ timeout: 20000 }));
    const chunk = await new Promise<Buffer>((resolve) => pipe.once('data', resolve));
    expect(chunk.toString()).toBe('hello ipckit');
    await pipe.send(chunk.toString().toUpperCase());
    pipe.close();
    expect(await peer.next()).toEqual({ got: 'HELLO IPCKIT' });
    expect((await peer.exited).code).toBe(0);
  });
});

describe('ref and unref', () => {
  test('a pending accept keeps its process alive until a client comes (control for the next test)', async () => {
    const name = pipeName('ref');
    const peer = startPeer('accept', name, 'ref');
    expect(await peer.next()).toEqual({ listening: true });
    const client = track(await NamedPipe.connect(name, { timeout: 20000 }));
    expect(await peer.next()).toEqual({ accepted: true });
    expect((await peer.exited).code).toBe(0);
    client.close();
  });

  test("a pending accept on an unref'd server does not keep its process alive", async () => {
    const name = pipeName('unref');
    const peer = startPeer('accept', name, 'unref');
    expect(await peer.next()).toEqual({ listening: true });
    expect(await peer.exited).toEqual({ code: 0, signal: null });
    // It never accepted: the process ended with the accept pending, and the pipe went with it.
    await expect(NamedPipe.connect(name)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('unref and ref of a connection return it; a pending receive can be stopped afterwards', async () => {
    const name = pipeName('cref');
    const server = track(NamedPipeServer.create(name, { mode: 'message' }));
    const accepted = server.accept();
    const client = track(await NamedPipe.connect(name, { mode: 'message' }));
    const pipe = track(await accepted);
    const receiving = pipe.receive();
    expect(pipe.unref()).toBe(pipe);
    expect(pipe.ref()).toBe(pipe);
    await client.send('after ref');
    expect((await receiving).toString()).toBe('after ref');
  });
});

describe('teardown', () => {
  test.each(['process', 'worker'])('a %s that ends with accept, receive and a send pending releases them without a crash', async (where) => {
    const name = pipeName(`teardown-${where}`);
    const peer = startPeer('teardown', name, where);
    expect(await peer.next()).toEqual(where === 'worker' ? { terminated: true } : { pending: true });
    expect(await peer.exited).toEqual({ code: 0, signal: null });
    expect(peer.stderr()).toBe('');
  });
});

describe('arguments', () => {
  const tooLong = 'x'.repeat(256 - '\\\\.\\pipe\\'.length + 1);
  const badNames: [string, unknown][] = [
    ['a mailslot prefix', '\\\\.\\mailslot\\x'],
    ['a file path', 'C:\\x'],
    ['a path with a slash prefix', '\\x'],
    ['an empty name', ''],
    ['an empty name after the prefix', '\\\\.\\pipe\\'],
    ['a backslash in the name part', '\\\\.\\pipe\\a\\b'],
    ['over 256 characters in all', tooLong],
    ['a NUL', 'a\0b'],
  ];
  test.each(badNames)('a name with %s is refused with ERR_INVALID_ARG_VALUE, by server and client', async (_what, name) => {
    expect(() => NamedPipeServer.create(name as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => NamedPipe.connect(name as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  test('a remote name is refused for a server, and a client may name one', async () => {
    expect(() => NamedPipeServer.create('\\\\host\\pipe\\x')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    // The client's name is well formed: what fails is the network lookup, not the argument.
    await expect(NamedPipe.connect('\\\\ipckit-no-such-host.invalid\\pipe\\x', { timeout: 0 })).rejects.toHaveProperty('syscall', 'CreateFileW');
  });

  test('the longest name, 256 characters with its prefix, is accepted; a bare name gets the prefix', () => {
    const base = pipeName('len');
    const longest = base + 'y'.repeat(256 - base.length);
    const server = track(NamedPipeServer.create(longest));
    expect(server.name).toBe(longest);
    const bare = track(NamedPipeServer.create(pipeName('bare').slice('\\\\.\\pipe\\'.length)));
    expect(bare.name.startsWith('\\\\.\\pipe\\ipckit-test-bare-')).toBe(true);
    expect(() => NamedPipeServer.create(bare.name.toUpperCase().replace('\\PIPE\\', '\\pipe\\') + '\\')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
  });

  test('non-string names, bad options and numbers out of range are coded errors thrown before anything is created', () => {
    const name = pipeName('args');
    expect(() => NamedPipeServer.create(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => NamedPipe.connect(null as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    const bad: [object, string][] = [
      [{ mode: 'stream' }, 'ERR_INVALID_ARG_VALUE'],
      [{ direction: 'up' }, 'ERR_INVALID_ARG_VALUE'],
      [{ maxInstances: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ maxInstances: 256 }, 'ERR_OUT_OF_RANGE'],
      [{ maxInstances: 1.5 }, 'ERR_OUT_OF_RANGE'],
      [{ maxInstances: '2' }, 'ERR_INVALID_ARG_TYPE'],
      [{ inBufferSize: -1 }, 'ERR_OUT_OF_RANGE'],
      [{ outBufferSize: 2 ** 32 }, 'ERR_OUT_OF_RANGE'],
      [{ inBufferSize: NaN }, 'ERR_OUT_OF_RANGE'],
      [{ rejectRemoteClients: 1 }, 'ERR_INVALID_ARG_TYPE'],
      [{ securityDescriptor: 5 }, 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [options, code] of bad) {
      expect(() => NamedPipeServer.create(name, options)).toThrow(expect.objectContaining({ code }));
    }
    expect(() => NamedPipeServer.create(name, 'x' as unknown as object)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => NamedPipe.connect(name, { mode: 'bytes' as 'byte' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => NamedPipe.connect(name, { timeout: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    // None of those created the pipe.
    const server = track(NamedPipeServer.create(name));
    expect(server.name).toBe(name);
  });

  test('send() and receive() take their wait options; bad data and options reject with a code', async () => {
    const name = pipeName('sargs');
    const server = track(NamedPipeServer.create(name, { mode: 'message' }));
    const accepted = server.accept();
    const client = track(await NamedPipe.connect(name, { mode: 'message' }));
    const pipe = track(await accepted);
    await expect(client.send(42 as unknown as string)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(client.send('x', { timeout: 'soon' as unknown as number })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(pipe.receive({ signal: {} as AbortSignal })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(server.accept({ timeout: -5 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    // Nothing was sent by those: the next message is the next good one.
    await client.send(new Uint16Array([0x6968]));
    expect((await pipe.receive()).toString()).toBe('hi');
  });

  test('the classes are made only by their factories', () => {
    const Server = NamedPipeServer as unknown as new () => unknown;
    const Pipe = NamedPipe as unknown as new () => unknown;
    expect(() => new Server()).toThrow(expect.objectContaining({ code: 'ERR_ILLEGAL_CONSTRUCTOR' }));
    expect(() => new Pipe()).toThrow(expect.objectContaining({ code: 'ERR_ILLEGAL_CONSTRUCTOR' }));
  });
});

describe('security', () => {
  test(
    wine
      ? 'rejectRemoteClients refuses a client that comes through the network redirector, false lets it in (known Wine difference: \\\\localhost\\pipe\\ names are not reachable, ENOENT either way)'
      : 'rejectRemoteClients refuses a client that comes through the network redirector (\\\\localhost\\pipe\\), false lets it in',
    async () => {
      for (const rejectRemoteClients of [true, false]) {
        const local = pipeName('remote');
        const server = track(NamedPipeServer.create(local, { rejectRemoteClients }));
        server.accept().then(
          (pipe) => pipe.close(),
          () => {},
        );
        const attempt = NamedPipe.connect(local.replace('\\\\.\\', '\\\\localhost\\'), { timeout: 5000 });
        if (wine) {
          await expect(attempt).rejects.toMatchObject({ code: 'ENOENT', syscall: 'CreateFileW' });
        } else if (rejectRemoteClients) {
          await expect(attempt).rejects.toMatchObject({ syscall: 'CreateFileW', code: expect.any(String) });
        } else {
          track(await attempt).close();
        }
      }
    },
  );

  test('a security descriptor that is not SDDL is a coded error from ConvertStringSecurityDescriptorToSecurityDescriptorW', () => {
    const name = pipeName('sddl');
    expect(() => NamedPipeServer.create(name, { securityDescriptor: 'not sddl at all' })).toThrow(
      expect.objectContaining({
        syscall: 'ConvertStringSecurityDescriptorToSecurityDescriptorW',
        path: name,
        code: expect.any(String),
        osErrno: expect.any(Number),
      }),
    );
    // A valid one (everyone: all access) makes a pipe clients use as any other.
    const server = track(NamedPipeServer.create(name, { securityDescriptor: 'D:(A;;GA;;;WD)' }));
    expect(server.name).toBe(name);
  });

  test(
    wine
      ? 'a descriptor denying everyone lets no client in (known Wine difference: ACLs are not enforced on pipes, the client connects)'
      : 'a descriptor denying everyone lets no client in: EACCES',
    async () => {
      const name = pipeName('deny');
      const server = track(NamedPipeServer.create(name, { securityDescriptor: 'D:(D;;GA;;;WD)' }));
      server.accept().then(
        (pipe) => pipe.close(),
        () => {},
      );
      const attempt = NamedPipe.connect(name, { timeout: 5000 });
      if (wine) {
        const client = track(await attempt);
        expect(client.serverProcessId).toBe(process.pid);
      } else {
        await expect(attempt).rejects.toMatchObject({ code: 'EACCES', osCode: 'ERROR_ACCESS_DENIED', syscall: 'CreateFileW' });
      }
    },
  );

  test(
    wine
      ? 'a second server on a name refused by FILE_FLAG_FIRST_PIPE_INSTANCE (known Wine difference: the flag is ignored, the second create succeeds)'
      : 'a second server on a name is refused by FILE_FLAG_FIRST_PIPE_INSTANCE: EACCES',
    () => {
      const name = pipeName('first');
      track(NamedPipeServer.create(name));
      if (wine) {
        const second = track(NamedPipeServer.create(name));
        expect(second.name).toBe(name);
      } else {
        expect(() => NamedPipeServer.create(name)).toThrow(expect.objectContaining({ code: 'EACCES', syscall: 'CreateNamedPipeW' }));
      }
    },
  );
});

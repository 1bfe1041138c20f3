// Windows named pipes against the kernel (under Wine in npm run test:win), with a second
// node.exe on the other end: both modes, message boundaries, process ids, directions, several
// instances and a busy server, and the waits' stops (timeout, abort, close).
import { NamedPipe, NamedPipeServer } from '../../lib/named-pipe';
import { pending, pipeName, startPeer, track } from './pipe-helpers';

describe('message mode', () => {
  test('a client process sends whole messages, the server answers, and each side sees the other process id', async () => {
    const name = pipeName('msg');
    const server = track(NamedPipeServer.create(name, { mode: 'message' }));
    const peer = startPeer('client', name, 'message', '3');
    const pipe = track(await server.accept({ timeout: 20000 }));
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push((await pipe.receive()).toString());
    expect(got).toEqual([0, 1, 2].map((i) => `message ${i} from ${peer.child.pid}`));
    expect(pipe.clientProcessId).toBe(peer.child.pid);
    expect(pipe.serverProcessId).toBe(process.pid);
    await pipe.send('one');
    await pipe.send(Buffer.alloc(0));
    await pipe.send(new Uint8Array([0x74, 0x77, 0x6f]));
    pipe.close();
    const report = await peer.next();
    expect(report).toEqual({ pid: peer.child.pid, clientProcessId: peer.child.pid, serverProcessId: process.pid, got: ['one', '', 'two'] });
    expect((await peer.exited).code).toBe(0);
  });

  test('a message larger than the read buffer arrives whole (ERROR_MORE_DATA, then the rest), boundaries kept', async () => {
    const name = pipeName('big');
    const server = track(NamedPipeServer.create(name, { mode: 'message', inBufferSize: 4096, outBufferSize: 4096 }));
    const accepted = server.accept();
    const client = track(await NamedPipe.connect(name, { mode: 'message' }));
    const pipe = track(await accepted);
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 10)) & 0xff;
    const small = Buffer.from('after the big one');
    const sent = Promise.all([client.send(big), client.send(small), client.send(big.subarray(0, 65537))]);
    const first = await pipe.receive();
    expect(first.length).toBe(big.length);
    expect(first.equals(big)).toBe(true);
    expect((await pipe.receive()).equals(small)).toBe(true);
    expect((await pipe.receive()).equals(big.subarray(0, 65537))).toBe(true);
    await sent;
  });

  test('for await yields whole messages and ends when the peer closes; receive() then rejects with EPIPE', async () => {
    const name = pipeName('iter');
    const server = track(NamedPipeServer.create(name, { mode: 'message' }));
    const accepted = server.accept();
    const client = track(await NamedPipe.connect(name, { mode: 'message' }));
    const pipe = track(await accepted);
    for (const text of ['a', 'bb', 'ccc']) await client.send(text);
    client.close();
    const got: string[] = [];
    for await (const message of pipe) got.push(message.toString());
    expect(got).toEqual(['a', 'bb', 'ccc']);
    await expect(pipe.receive()).rejects.toMatchObject({ code: 'EPIPE', syscall: 'ReadFile', osCode: 'ERROR_BROKEN_PIPE' });
  });

  test('a send to a peer that has closed rejects with EPIPE and is not reported as sent', async () => {
    const name = pipeName('epipe');
    const server = track(NamedPipeServer.create(name, { mode: 'message' }));
    const accepted = server.accept();
    const client = track(await NamedPipe.connect(name, { mode: 'message' }));
    const pipe = track(await accepted);
    pipe.close();
    const error = await client.send('too late').then(
      () => null,
      (e: unknown) => e as { code: string; syscall: string; bytesWritten: number },
    );
    expect(error).toMatchObject({ code: 'EPIPE', syscall: 'WriteFile', bytesWritten: 0 });
  });

  test('a client process that dies in the middle of a message: the server gets the whole messages before it, then EPIPE, never a part', async () => {
    const name = pipeName('die');
    const server = track(NamedPipeServer.create(name, { mode: 'message', inBufferSize: 4096, outBufferSize: 4096 }));
    const size = 8 << 20;
    const peer = startPeer('die-mid-message', name, String(size));
    const pipe = track(await server.accept({ timeout: 20000 }));
    expect(await peer.next()).toEqual({ sending: true });
    peer.child.kill();
    await peer.exited;
    const got: Buffer[] = [];
    let end: unknown;
    for (;;) {
      try {
        got.push(await pipe.receive());
      } catch (error) {
        end = error;
        break;
      }
    }
    expect(end).toMatchObject({ code: 'EPIPE' });
    // 'whole', and the big one only if it was all written before the kill: never a part of it.
    expect(got[0]!.toString()).toBe('whole');
    expect(got.length === 1 || (got.length === 2 && got[1]!.length === size && got[1]!.every((b) => b === 0x61))).toBe(true);
  });

  test('a stream write in message mode is one message; mixing receive() and stream reads is refused with ERR_IPC_READ_CONFLICT', async () => {
    const name = pipeName('mix');
    const server = track(NamedPipeServer.create(name, { mode: 'message' }));
    const accepted = server.accept();
    const client = track(await NamedPipe.connect(name, { mode: 'message' }));
    const pipe = track(await accepted);
    client.write('first');
    client.write('second');
    expect((await pipe.receive()).toString()).toBe('first');
    expect((await pipe.receive()).toString()).toBe('second');
    const destroyed = new Promise<unknown>((resolve) => pipe.once('error', resolve));
    pipe.resume();
    expect(await destroyed).toMatchObject({ code: 'ERR_IPC_READ_CONFLICT' });
    // And the other way round: once read as a stream, receive() is refused.
    const server2 = track(NamedPipeServer.create(pipeName('mix2'), { mode: 'message' }));
    const accepted2 = server2.accept();
    const client2 = track(await NamedPipe.connect(server2.name, { mode: 'message' }));
    const pipe2 = track(await accepted2);
    const data = new Promise<Buffer>((resolve) => pipe2.once('data', resolve));
    await client2.send('streamed');
    expect((await data).toString()).toBe('streamed');
    await expect(pipe2.receive()).rejects.toMatchObject({ code: 'ERR_IPC_READ_CONFLICT' });
  });

  test('receive() on a byte-mode pipe is refused with ERR_IPC_PIPE_MODE; a message-mode client of a byte server fails to connect', async () => {
    const name = pipeName('modes');
    const server = track(NamedPipeServer.create(name));
    const accepted = server.accept();
    const client = track(await NamedPipe.connect(name));
    track(await accepted);
    await expect(client.receive()).rejects.toMatchObject({ code: 'ERR_IPC_PIPE_MODE' });
    server.accept().catch(() => {});
    await expect(NamedPipe.connect(name, { mode: 'message' })).rejects.toMatchObject({ syscall: 'SetNamedPipeHandleState', code: 'EINVAL' });
  });
});

describe('byte mode', () => {
  test('a client process writes bytes, the server streams them back, and the client reads to the end', async () => {
    const name = pipeName('bytes');
    const server = track(NamedPipeServer.create(name));
    const peer = startPeer('client', name, 'byte');
    const pipe = track(await server.accept({ timeout: 20000 }));
    const text = `bytes from ${peer.child.pid}`;
    let got = '';
    while (got.length < text.length) got += (await new Promise<Buffer>((resolve) => pipe.once('data', resolve))).toString();
    expect(got).toBe(text);
    expect(pipe.mode).toBe('byte');
    await pipe.send('the reply');
    pipe.close();
    const report = await peer.next();
    expect(report).toEqual({ pid: peer.child.pid, clientProcessId: peer.child.pid, serverProcessId: process.pid, got: 'the reply' });
    expect((await peer.exited).code).toBe(0);
  });

  test('stream data both ways in order, then end of data for the reader when the writer closes', async () => {
    const name = pipeName('stream');
    const server = track(NamedPipeServer.create(name));
    const accepted = server.accept();
    const client = track(await NamedPipe.connect(name));
    const pipe = track(await accepted);
    const chunks: Buffer[] = [];
    const ended = new Promise<void>((resolve) => pipe.on('end', resolve));
    pipe.on('data', (chunk: Buffer) => chunks.push(chunk));
    const payload = Buffer.alloc(300000);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    client.write(payload.subarray(0, 100000));
    client.write(payload.subarray(100000));
    await new Promise<void>((resolve) => client.end(resolve));
    client.close();
    await ended;
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
  });

  test('a client process killed mid-stream: the server reads what was sent, then end of data', async () => {
    const name = pipeName('kill');
    const server = track(NamedPipeServer.create(name));
    const peer = startPeer('die-in-stream', name);
    const pipe = track(await server.accept({ timeout: 20000 }));
    expect(await peer.next()).toEqual({ sent: true });
    peer.child.kill();
    let got = '';
    for await (const chunk of pipe) got += (chunk as Buffer).toString();
    expect(got).toBe('partial stream');
  });

  test('the server sees EOF, and a write to the closed peer fails with EPIPE through the stream', async () => {
    const name = pipeName('wclosed');
    const server = track(NamedPipeServer.create(name));
    const accepted = server.accept();
    const client = track(await NamedPipe.connect(name));
    const pipe = track(await accepted);
    client.close();
    const failed = new Promise<unknown>((resolve) => pipe.once('error', resolve));
    pipe.write('nobody reads this');
    expect(await failed).toMatchObject({ code: 'EPIPE', syscall: 'WriteFile' });
  });
});

describe('directions', () => {
  test("inbound: the client writes and the server reads; the client's read and the server's send fail with a code", async () => {
    const name = pipeName('in');
    const server = track(NamedPipeServer.create(name, { mode: 'message', direction: 'inbound' }));
    expect(server.direction).toBe('inbound');
    const accepted = server.accept();
    const client = track(await NamedPipe.connect(name, { mode: 'message' }));
    const pipe = track(await accepted);
    await client.send('up');
    expect((await pipe.receive()).toString()).toBe('up');
    await expect(pipe.send('down')).rejects.toMatchObject({ code: 'EACCES', syscall: 'WriteFile', bytesWritten: 0 });
    await expect(client.receive()).rejects.toMatchObject({ code: 'EACCES', syscall: 'ReadFile' });
  });

  test('outbound, across processes: the server writes and the client reads; the server cannot read', async () => {
    const name = pipeName('out');
    const peer = startPeer('server', name, 'message', 'outbound');
    expect(await peer.next()).toMatchObject({ ready: true });
    const client = track(await NamedPipe.connect(name, { mode: 'message', timeout: 20000 }));
    expect((await client.receive()).toString()).toBe('from the server');
    await expect(client.send('up')).rejects.toMatchObject({ code: 'EACCES', syscall: 'WriteFile' });
    const report = await peer.next();
    expect(report).toMatchObject({
      clientProcessId: process.pid,
      serverProcessId: peer.child.pid,
      readError: { code: 'EACCES', syscall: 'ReadFile' },
    });
    expect(client.serverProcessId).toBe(peer.child.pid);
    peer.child.stdin!.end();
    expect((await peer.exited).code).toBe(0);
  });
});

describe('instances and busy servers', () => {
  test('maxInstances N: N client processes connected at once; the next waits for a busy server and connects once one is freed', async () => {
    const name = pipeName('max');
    const server = track(NamedPipeServer.create(name, { maxInstances: 2 }));
    const peers = [startPeer('hold', name, 'byte'), startPeer('hold', name, 'byte')];
    const connections = [track(await server.accept({ timeout: 20000 })), track(await server.accept({ timeout: 20000 }))];
    for (const peer of peers) expect(await peer.next()).toMatchObject({ connected: true });
    expect(connections.map((c) => c.clientProcessId).sort()).toEqual(peers.map((p) => p.child.pid).sort());
    // Every instance is in use: a connect that may not wait times out, one that may waits.
    await expect(NamedPipe.connect(name, { timeout: 0 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
    const third = NamedPipe.connect(name, { timeout: 20000 });
    const nextAccept = server.accept({ timeout: 20000 });
    expect(await pending(third)).toBe(true);
    expect(await pending(nextAccept)).toBe(true);
    connections[0]!.close();
    const client = track(await third);
    const serverSide = track(await nextAccept);
    expect(serverSide.clientProcessId).toBe(process.pid);
    await client.send('through the freed instance');
    const chunk = await new Promise<Buffer>((resolve) => serverSide.once('data', resolve));
    expect(chunk.toString()).toBe('through the freed instance');
  });

  test('a busy server with a connect timeout: ERR_IPC_TIMEOUT', async () => {
    const name = pipeName('busy');
    const server = track(NamedPipeServer.create(name, { maxInstances: 1 }));
    const accepted = server.accept();
    track(await NamedPipe.connect(name));
    track(await accepted);
    await expect(NamedPipe.connect(name, { timeout: 200 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
  });

  test('clients that connect between accepts wait in the pipe and are accepted in turn', async () => {
    const name = pipeName('backlog');
    const server = track(NamedPipeServer.create(name));
    const first = NamedPipe.connect(name);
    const a = track(await first);
    const acceptedA = track(await server.accept({ timeout: 20000 }));
    const b = track(await NamedPipe.connect(name, { timeout: 20000 }));
    const acceptedB = track(await server.accept({ timeout: 20000 }));
    await a.send('a');
    await b.send('b');
    const read = (p: NamedPipe) => new Promise<string>((resolve) => p.once('data', (c: Buffer) => resolve(c.toString())));
    expect(await read(acceptedA)).toBe('a');
    expect(await read(acceptedB)).toBe('b');
  });
});

describe('stopping waits', () => {
  test('connect to a name with no server: ENOENT at once', async () => {
    await expect(NamedPipe.connect(pipeName('none'))).rejects.toMatchObject({
      code: 'ENOENT',
      syscall: 'CreateFileW',
      osCode: 'ERROR_FILE_NOT_FOUND',
    });
  });

  test('accept: timeout, abort (before and while pending), then close with ERR_IPC_CLOSED; the server accepts again after each', async () => {
    const name = pipeName('stops');
    const server = track(NamedPipeServer.create(name));
    await expect(server.accept({ timeout: 50 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
    const controller = new AbortController();
    const aborted = server.accept({ signal: controller.signal });
    expect(await pending(aborted)).toBe(true);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED' });
    await expect(server.accept({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED' });
    // The instance a stopped accept listened on still takes the next client.
    const accepted = server.accept();
    const client = track(await NamedPipe.connect(name));
    track(await accepted);
    expect(client.serverProcessId).toBe(process.pid);
    const closing = server.accept();
    expect(await pending(closing)).toBe(true);
    server.close();
    await expect(closing).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
    await expect(server.accept()).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
    server.close();
  });

  test('connect abort while waiting for a busy server: ERR_IPC_ABORTED', async () => {
    const name = pipeName('cabort');
    const server = track(NamedPipeServer.create(name, { maxInstances: 1 }));
    const accepted = server.accept();
    track(await NamedPipe.connect(name));
    track(await accepted);
    const controller = new AbortController();
    const waiting = NamedPipe.connect(name, { signal: controller.signal });
    expect(await pending(waiting)).toBe(true);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED' });
  });

  test('close while receive or send is pending: it fails with ERR_IPC_CLOSED, and the send is not reported as sent', async () => {
    const name = pipeName('cclose');
    const server = track(NamedPipeServer.create(name, { mode: 'message', inBufferSize: 4096, outBufferSize: 4096 }));
    const pair = async () => {
      const accepted = server.accept();
      const client = track(await NamedPipe.connect(name, { mode: 'message' }));
      return { client, serverSide: track(await accepted) };
    };
    // Each pair closes only the end that waits: closing the other end first would end the wait
    // with EPIPE (the peer closed) instead.
    const first = await pair();
    const receiving = first.serverSide.receive();
    expect(await pending(receiving)).toBe(true);
    first.serverSide.close();
    await expect(receiving).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
    await expect(first.serverSide.receive()).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
    const second = await pair();
    // Far more than the pipe buffers, and nobody reads: the write stays pending.
    const sending = second.client.send(Buffer.alloc(8 << 20));
    expect(await pending(sending)).toBe(true);
    second.client.close();
    await expect(sending).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
    await expect(second.client.send('x')).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
    // The reader never gets the cut-short message, only the end of the pipe.
    await expect(second.serverSide.receive()).rejects.toMatchObject({ code: 'EPIPE' });
  });

  test('receive timeout and abort leave the message for the next receive', async () => {
    const name = pipeName('rstop');
    const server = track(NamedPipeServer.create(name, { mode: 'message' }));
    const accepted = server.accept();
    const client = track(await NamedPipe.connect(name, { mode: 'message' }));
    const pipe = track(await accepted);
    await expect(pipe.receive({ timeout: 30 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
    const controller = new AbortController();
    const aborted = pipe.receive({ signal: controller.signal });
    expect(await pending(aborted)).toBe(true);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED' });
    await client.send('kept');
    expect((await pipe.receive()).toString()).toBe('kept');
  });

  test('a send aborted while its write is pending rejects with ERR_IPC_ABORTED and is not reported as sent', async () => {
    const name = pipeName('sabort');
    const server = track(NamedPipeServer.create(name, { mode: 'message', inBufferSize: 4096, outBufferSize: 4096 }));
    const accepted = server.accept();
    const client = track(await NamedPipe.connect(name, { mode: 'message' }));
    const pipe = track(await accepted);
    const controller = new AbortController();
    const sending = client.send(Buffer.alloc(8 << 20, 1), { signal: controller.signal });
    const queued = client.send('queued behind it', { timeout: 20000 });
    expect(await pending(sending)).toBe(true);
    controller.abort();
    const error = await sending.then(
      () => null,
      (e: unknown) => e as { code: string; bytesWritten: number },
    );
    expect(error?.code).toBe('ERR_IPC_ABORTED');
    await queued;
    // The next whole message the server gets is the queued one: the aborted one never arrived whole.
    const next = await pipe.receive();
    expect(next.length === 8 << 20 ? 'whole aborted message delivered' : next.toString()).toBe('queued behind it');
  });
});

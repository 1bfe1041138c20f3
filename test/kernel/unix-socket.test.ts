// UnixSocket, UnixServer and anonymous shared memory against the kernel: what arrives with what,
// stream and seqpacket, waits and their settling, refusals, and no descriptor left behind.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, EventFd, MAX_FDS_PER_MESSAGE, SharedMemory, UnixServer, UnixSocket, receiveFds, sendFds } from '../../lib';
import { openFdCount, scratchDir, thrown } from '../helpers';

const socketPath = () => path.join(fs.mkdtempSync(path.join(scratchDir(), 'unix-')), 'sock');

test('descriptors arrive as new numbers of the same open files, close-on-exec; the sender keeps its own', async () => {
  const [a, b] = UnixSocket.pair();
  const file = path.join(scratchDir(), `fdpass-${process.pid}.txt`);
  fs.writeFileSync(file, 'contents');
  const fd = fs.openSync(file, 'r');
  await sendFds(a, [fd, fd], 'two');
  const { data, fds } = (await receiveFds(b))!;
  expect(data.toString()).toBe('two');
  expect(fds).toHaveLength(2);
  expect(new Set([fd, ...fds]).size).toBe(3);
  for (const received of fds) {
    expect(fs.fstatSync(received).ino).toBe(fs.fstatSync(fd).ino);
    const flags = parseInt(/flags:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${received}`, 'utf8'))![1], 8);
    expect(flags & 0o2000000).toBe(0o2000000); // O_CLOEXEC
    fs.closeSync(received);
  }
  expect(fs.readFileSync(file, 'utf8')).toBe('contents');
  fs.closeSync(fd);
  fs.rmSync(file);
  a.close();
  b.close();
});

test(`${MAX_FDS_PER_MESSAGE} descriptors in one message all arrive; one more is refused before any syscall`, async () => {
  const [a, b] = UnixSocket.pair();
  const bell = EventFd.create();
  const many = new Array(MAX_FDS_PER_MESSAGE).fill(bell.fd);
  await a.send('x', many);
  const { fds } = (await b.receive())!;
  expect(fds).toHaveLength(MAX_FDS_PER_MESSAGE);
  expect(new Set(fds).size).toBe(MAX_FDS_PER_MESSAGE);
  fds.forEach((fd) => fs.closeSync(fd));
  await expect(a.send('x', [...many, bell.fd])).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  expect(b.tryReceive()).toBeUndefined();
  bell.close();
  a.close();
  b.close();
});

test('an EventFd passed over a socket rings the original', async () => {
  const [a, b] = UnixSocket.pair();
  using bell = EventFd.create();
  await sendFds(a, [bell.fd]);
  const { fds } = (await receiveFds(b))!;
  using remote = EventFd.fromFd(fds[0]);
  fs.closeSync(fds[0]);
  remote.signal(9);
  expect(await bell.read()).toBe(9);
  a.close();
  b.close();
});

test('seqpacket keeps message boundaries; stream sends arrive in order', async () => {
  const [a, b] = UnixSocket.pair({ type: 'seqpacket' });
  await a.send('one');
  await a.send('two');
  expect((await b.receive())!.data.toString()).toBe('one');
  expect((await b.receive())!.data.toString()).toBe('two');
  a.close();
  b.close();
  const [c, d] = UnixSocket.pair();
  const sends = Array.from({ length: 100 }, (_, i) => c.send(`${i},`));
  await Promise.all(sends);
  c.end();
  let text = '';
  for (let m = await d.receive(); m !== null; m = await d.receive()) text += m.data.toString();
  expect(text).toBe(Array.from({ length: 100 }, (_, i) => `${i},`).join(''));
  c.close();
  d.close();
});

test('a large send waits for room and arrives whole', async () => {
  const [a, b] = UnixSocket.pair();
  const big = Buffer.alloc(8 << 20, 7);
  const sent = a.send(big);
  let got = 0;
  while (got < big.length) got += (await b.receive())!.data.length;
  await sent;
  expect(got).toBe(big.length);
  a.close();
  b.close();
});

test('server: accept, peerCredentials, path removed on close, EADDRINUSE and ENOENT', async () => {
  const where = socketPath();
  const server = UnixServer.listen(where, { mode: 0o660 });
  expect(fs.statSync(where).mode & 0o777).toBe(0o660);
  expect(thrown(() => UnixServer.listen(where)).code).toBe('EADDRINUSE');
  const accepted = server.accept();
  const client = UnixSocket.connect(where);
  const connection = await accepted;
  expect(connection.peerCredentials).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  expect(client.peerCredentials.pid).toBe(process.pid);
  client.close();
  expect(await connection.receive()).toBeNull();
  connection.close();
  server.close();
  expect(fs.existsSync(where)).toBe(false);
  expect(thrown(() => UnixSocket.connect(where)).code).toBe('ENOENT');
});

test('waits settle with their codes; use after close is ERR_IPC_CLOSED; bad arguments are coded', async () => {
  const [a, b] = UnixSocket.pair();
  await expect(b.receive({ timeout: 10 })).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
  await expect(b.receive({ timeout: 0 })).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
  const controller = new AbortController();
  const aborted = b.receive({ signal: controller.signal });
  controller.abort();
  await expect(aborted).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
  const pending = b.receive();
  b.close();
  await expect(pending).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  await expect(b.send('x')).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  expect(thrown(() => b.fd).code).toBe(ErrorCodes.CLOSED);
  await expect(a.send('x', [999999])).rejects.toMatchObject({ code: 'EBADF' });
  await expect(a.send('x', [-1])).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  await expect(a.send('x', 3 as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  await expect(a.send('x')).rejects.toMatchObject({ code: 'EPIPE' }); // the peer is gone
  await expect(sendFds({} as never, [])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  expect(thrown(() => UnixSocket.pair({ type: 'dgram' as never })).code).toBe('ERR_INVALID_ARG_VALUE');
  expect(thrown(() => UnixSocket.connect('')).code).toBe('ERR_INVALID_ARG_VALUE');
  expect(thrown(() => UnixSocket.connect(`/tmp/${'x'.repeat(200)}`)).code).toBe('ERR_OUT_OF_RANGE');
  const file = fs.openSync('/proc/self/status', 'r');
  expect(thrown(() => UnixSocket.fromFd(file)).code).toBe(ErrorCodes.INVALID_OBJECT);
  fs.closeSync(file);
  a.close();
});

describe('anonymous shared memory', () => {
  test('createAnonymous: size, seals, fd, no name to unlink; close releases the descriptor', () => {
    const shm = SharedMemory.createAnonymous({ size: 12345, name: 'frames' });
    expect(shm.size).toBe(12345);
    expect(shm.anonymous).toBe(true);
    expect(shm.name).toBe('memfd:frames');
    expect(shm.seals).toEqual([]);
    expect(fs.readlinkSync(`/proc/self/fd/${shm.fd}`)).toMatch(/^\/memfd:frames \(deleted\)$/);
    fs.ftruncateSync(shm.fd, 20000); // unsealed: it may grow
    expect(shm.stat().size).toBe(20000);
    expect(thrown(() => shm.unlink()).code).toBe(ErrorCodes.INVALID_OBJECT);
    const fd = shm.fd;
    shm.close();
    expect(() => fs.fstatSync(fd)).toThrow();
    expect(thrown(() => shm.fd).code).toBe(ErrorCodes.CLOSED);
    using sealed = SharedMemory.createAnonymous({ size: 4096, seal: ['grow'] });
    expect(sealed.seals).toEqual(['grow']);
    expect(() => fs.ftruncateSync(sealed.fd, 8192)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    fs.ftruncateSync(sealed.fd, 4096);
  });

  test('bad options are coded', () => {
    expect(thrown(() => SharedMemory.createAnonymous({ size: 0 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => SharedMemory.createAnonymous({ size: 1, seal: ['write'] })).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => SharedMemory.createAnonymous({ size: 1, seal: ['sideways' as never] })).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => SharedMemory.createAnonymous({ size: 1, seal: 'yes' as never })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => SharedMemory.createAnonymous({ size: 1, name: 'a/b' })).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => SharedMemory.fromFd(-1)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => SharedMemory.fromFd(999999)).code).toBe('EBADF');
    const dir = fs.openSync(scratchDir(), 'r');
    expect(thrown(() => SharedMemory.fromFd(dir)).code).toBe(ErrorCodes.INVALID_OBJECT);
    fs.closeSync(dir);
  });

  test('fromFd maps a named object too, and a read-only descriptor only read-only', () => {
    const name = `/ipckit-fromfd-${process.pid}`;
    using named = SharedMemory.create(name, { size: 4096 });
    named.buffer.write('named');
    const readOnly = fs.openSync(`/dev/shm${name}`, 'r');
    expect(thrown(() => SharedMemory.fromFd(readOnly)).code).toBe(ErrorCodes.READ_ONLY);
    using view = SharedMemory.fromFd(readOnly, { readOnly: true });
    fs.closeSync(readOnly);
    expect(view.buffer.toString('latin1', 0, 5)).toBe('named');
    expect(typeof named.fd).toBe('number');
    named.unlink();
  });
});

test('200 cycles of pair / send a memfd / receive / map / close leave no descriptor behind', async () => {
  const before = openFdCount();
  for (let i = 0; i < 200; i++) {
    const [a, b] = UnixSocket.pair();
    const shm = SharedMemory.createAnonymous({ size: 4096, seal: i % 2 === 0 });
    await sendFds(a, [shm.fd]);
    const { fds } = (await receiveFds(b))!;
    const mapped = SharedMemory.fromFd(fds[0]);
    fs.closeSync(fds[0]);
    const pending = b.receive().catch((e) => e.code);
    a.close();
    expect(await pending).toBeNull();
    mapped.close();
    shm.close();
    b.close();
  }
  // (Fewer is possible: descriptors other parts of the process held may have closed meanwhile.)
  expect(openFdCount()).toBeLessThanOrEqual(before);
});

test('sends stopped while waiting on a full socket give back the descriptors they duplicated', async () => {
  const [a, b] = UnixSocket.pair();
  while (
    await a.send(Buffer.alloc(65536), [], { timeout: 0 }).then(
      () => true,
      () => false,
    )
  );
  const bell = EventFd.create();
  const before = openFdCount();
  const pending = Array.from({ length: 20 }, () => a.send('x', [bell.fd, bell.fd]).catch((e) => e.code));
  expect(openFdCount()).toBe(before + 40);
  a.close();
  expect(new Set(await Promise.all(pending))).toEqual(new Set([ErrorCodes.CLOSED]));
  expect(openFdCount()).toBe(before - 1); // and a's own descriptor
  bell.close();
  b.close();
});

test('a peer that closed with bytes unread: a send fails with sendmsg’s own error and gives back its descriptors', async () => {
  // Closing a socket with bytes unread resets the connection: the other end's descriptor then
  // reports POLLERR, which libuv passes on as a failed watch (UV_EBADF). The send must still end
  // with what sendmsg says, and close the duplicates it made.
  const [a, b] = UnixSocket.pair();
  const bell = EventFd.create();
  await a.send(Buffer.alloc(100000, 1), [bell.fd]);
  const first = (await b.receive())!;
  expect(first.data.length).toBeLessThan(100000); // the rest stays unread
  for (const fd of first.fds) fs.closeSync(fd);
  b.close();
  const before = openFdCount();
  for (let i = 0; i < 3; i++) {
    await expect(a.send('x', [bell.fd, bell.fd])).rejects.toMatchObject({ code: expect.stringMatching(/^(EPIPE|ECONNRESET)$/), syscall: 'sendmsg' });
    expect(openFdCount()).toBe(before);
  }
  bell.close();
  a.close();
});

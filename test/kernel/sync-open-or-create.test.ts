// Mutex/Condition/Barrier.openOrCreate: an object found at the offset is opened, unused (zeroed)
// bytes get a new one, anything else is refused; and among callers racing on the same bytes,
// exactly one initialises, through the claim word ("IPK?" in the object's first word).
import { Worker } from 'node:worker_threads';
import { Barrier, Condition, Mutex, SharedMemory, wake, type Mapping } from '../../lib';
import { repoRoot, run, shmNames, thrown } from '../helpers';

const newName = shmNames('ooc');
const CLAIM = 0x3f4b5049; // "IPK?" in little-endian memory, as the README documents

type Kind = 'Mutex' | 'Condition' | 'Barrier';
const kinds: Kind[] = ['Mutex', 'Condition', 'Barrier'];
const size = { Mutex: 64, Condition: 32, Barrier: 32 };

function openOrCreate(kind: Kind, memory: Mapping, offset: number): Mutex | Condition | Barrier {
  if (kind === 'Mutex') return Mutex.openOrCreate(memory, offset);
  if (kind === 'Condition') return Condition.openOrCreate(memory, offset);
  return Barrier.openOrCreate(memory, offset, 2);
}

function create(kind: Kind, memory: Mapping, offset: number): Mutex | Condition | Barrier {
  if (kind === 'Mutex') return Mutex.create(memory, offset);
  if (kind === 'Condition') return Condition.create(memory, offset);
  return Barrier.create(memory, offset, 2);
}

describe.each(kinds)('%s.openOrCreate', (kind) => {
  test('initialises unused bytes, then opens what it finds there (created tells which)', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 4096 });
    const first = openOrCreate(kind, shm, 64);
    expect(first.created).toBe(true);
    expect(shm.view(Uint32Array, 64, 1)[0]).not.toBe(0); // the magic, written by init
    expect(openOrCreate(kind, shm, 64).created).toBe(false);
    using other = SharedMemory.open(name);
    expect(openOrCreate(kind, other, 64).created).toBe(false);
    expect(create(kind, other, 128).created).toBe(true);
    expect(openOrCreate(kind, shm, 128).created).toBe(false);
  });

  test('bytes that hold neither this kind nor zeros are refused and left as they were', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 4096 });
    shm.buffer.fill(0xa5, 0, 64);
    expect(thrown(() => openOrCreate(kind, shm, 0)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(shm.buffer.subarray(0, 64).every((b) => b === 0xa5)).toBe(true);
    // Another kind's object, made through another handle (so the overlap check cannot see it).
    using other = SharedMemory.open(name);
    const otherKind = kind === 'Mutex' ? 'Condition' : 'Mutex';
    create(otherKind, other, 256);
    const before = Buffer.from(shm.buffer.subarray(256, 320));
    expect(thrown(() => openOrCreate(kind, shm, 256)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(shm.buffer.subarray(256, 320).equals(before)).toBe(true);
  });

  test('bad arguments get the same coded errors as create and open', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 4096 });
    expect(thrown(() => openOrCreate(kind, {} as never, 0)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => openOrCreate(kind, shm, 4)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => openOrCreate(kind, shm, -8)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => openOrCreate(kind, shm, 4096)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => openOrCreate(kind, shm, '0' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    using readOnly = SharedMemory.open(name, { readOnly: true });
    expect(thrown(() => openOrCreate(kind, readOnly, 0)).code).toBe('ERR_INVALID_ARG_VALUE');
    create(kind, shm, 0);
    expect(thrown(() => openOrCreate(kind, shm, 8)).code).toBe('ERR_IPC_OBJECT_OVERLAP');
    shm.close();
    expect(thrown(() => openOrCreate(kind, shm, 512)).code).toBe('ERR_IPC_CLOSED');
  });

  test('a claim that is never completed (its process died half-way) is refused with ERR_IPC_INVALID_OBJECT, not taken over', () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 4096 });
    shm.view(Int32Array, 512, 1)[0] = CLAIM;
    expect(thrown(() => openOrCreate(kind, shm, 512)).code).toBe('ERR_IPC_INVALID_OBJECT');
    expect(shm.view(Int32Array, 512, 1)[0]).toBe(CLAIM);
    // create() is the way out.
    expect(create(kind, shm, 512).created).toBe(true);
    expect(openOrCreate(kind, shm, 512).created).toBe(false);
  });

  test('a caller that finds a claim in progress waits for that object and opens it', async () => {
    const name = newName();
    using shm = SharedMemory.create(name, { size: 4096 });
    const word = shm.view(Int32Array, 1024, 1);
    word[0] = CLAIM; // this thread claims, as an openOrCreate elsewhere would
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const ipckit = require(${JSON.stringify(repoRoot)});
       const shm = ipckit.SharedMemory.open(${JSON.stringify(name)});
       parentPort.postMessage('calling');
       const kind = ${JSON.stringify(kind)};
       try {
         const found = kind === 'Barrier' ? ipckit.Barrier.openOrCreate(shm, 1024, 2) : ipckit[kind].openOrCreate(shm, 1024);
         parentPort.postMessage({ created: found.created });
       } catch (error) {
         parentPort.postMessage({ code: error.code });
       }
       shm.close();`,
      { eval: true },
    );
    const messages: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      worker.on('message', (message) => {
        messages.push(message);
        if (message === 'calling') {
          // Finish the claim as openOrCreate does: initialise (the magic is written last), then wake.
          setTimeout(() => {
            create(kind, shm, 1024);
            wake(word, 0);
          }, 50);
        } else {
          resolve();
        }
      });
      worker.on('error', reject);
    });
    await done;
    await worker.terminate();
    expect(messages).toEqual(['calling', { created: false }]);
  });

  test('processes racing on never-initialised bytes: exactly one initialises each object', async () => {
    const name = newName();
    const racers = 2;
    const rounds = 120;
    const stride = 64;
    // Words 0..rounds-1: how many racers reached each round; word `rounds`: a racer failed (so
    // the others stop waiting for it). Objects from byte 4096 on.
    using shm = SharedMemory.create(name, { size: 4096 + rounds * stride });
    const arrived = shm.view(Int32Array, 0, rounds + 1);
    const script = `
      const ipckit = require(${JSON.stringify(repoRoot)});
      const shm = ipckit.SharedMemory.open(${JSON.stringify(name)});
      const arrived = shm.view(Int32Array, 0, ${rounds + 1});
      const kind = ${JSON.stringify(kind)};
      const created = [];
      try {
        for (let i = 0; i < ${rounds}; i++) {
          // A barrier per round, so that the racers call at the same moment every time.
          Atomics.add(arrived, i, 1);
          while (Atomics.load(arrived, i) < ${racers}) if (Atomics.load(arrived, ${rounds}) !== 0) throw new Error('another racer failed');
          const offset = 4096 + i * ${stride};
          const found = kind === 'Barrier' ? ipckit.Barrier.openOrCreate(shm, offset, 2) : ipckit[kind].openOrCreate(shm, offset);
          created.push(found.created);
        }
        console.log(JSON.stringify(created));
      } catch (error) {
        Atomics.store(arrived, ${rounds}, 1);
        console.log(JSON.stringify({ round: created.length, code: error.code, message: error.message }));
      }
      shm.close();`;
    const reports = (await Promise.all(Array.from({ length: racers }, () => run(process.execPath, ['-e', script])))).map((r) => {
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as boolean[];
    });
    expect(reports.every((report) => Array.isArray(report))).toBe(true);
    for (let i = 0; i < rounds; i++) {
      expect(reports.filter((report) => report[i]).length).toBe(1);
      expect(Atomics.load(arrived, i)).toBe(racers);
    }
    // What they made are objects of the kind, found by a later caller.
    expect(openOrCreate(kind, shm, 4096).created).toBe(false);
    expect(size[kind]).toBeLessThanOrEqual(stride);
  });
});

test('Barrier.openOrCreate refuses a barrier for another number of parties', () => {
  const name = newName();
  using shm = SharedMemory.create(name, { size: 4096 });
  Barrier.openOrCreate(shm, 0, 3);
  expect(thrown(() => Barrier.openOrCreate(shm, 0, 2)).code).toBe('ERR_INVALID_ARG_VALUE');
  expect(thrown(() => Barrier.openOrCreate(shm, 64, 0)).code).toBe('ERR_OUT_OF_RANGE');
  expect(thrown(() => Barrier.openOrCreate(shm, 64, 65536)).code).toBe('ERR_OUT_OF_RANGE');
  expect(Barrier.openOrCreate(shm, 0, 3).parties).toBe(3);
});

test('a Mutex that openOrCreate found is the same lock in every process', async () => {
  const name = newName();
  using shm = SharedMemory.create(name, { size: 4096 });
  const mutex = Mutex.openOrCreate(shm, 0);
  expect(mutex.created).toBe(true);
  mutex.lockSync();
  const script = `
    const { SharedMemory, Mutex } = require(${JSON.stringify(repoRoot)});
    const shm = SharedMemory.open(${JSON.stringify(name)});
    const mutex = Mutex.openOrCreate(shm, 0);
    const tryLock = mutex.tryLock();
    if (tryLock) mutex.unlock();
    console.log(JSON.stringify({ created: mutex.created, tryLock }));
    shm.close();`;
  const held = await run(process.execPath, ['-e', script]);
  expect(held.stderr).toBe('');
  expect(JSON.parse(held.stdout)).toEqual({ created: false, tryLock: false });
  mutex.unlock();
  const free = await run(process.execPath, ['-e', script]);
  expect(JSON.parse(free.stdout)).toEqual({ created: false, tryLock: true });
});

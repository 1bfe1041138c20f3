// Property test of the robust-list bookkeeping behind Mutex (native/linux/sync.cc): random
// sequences of lock, tryLock, unlock, condition waits, re-creation and overwriting the mutexes'
// bytes while they are held, in a child process that is then killed. The outcomes must match a
// model, the child must never die of anything but the kill, and afterwards the kernel must have
// marked as owner-died exactly the held mutexes it could reach on the child's robust list: that
// is only true if ipckit's hand-made unlinking kept the list intact through every overwrite it
// saw. The list's forward links live inside the mutexes, so a held mutex overwritten and never
// unlocked before the death cuts the kernel's walk there: older held mutexes stay locked by the
// dead thread (their lockers time out). The model says so, and the README states it.
import * as fc from 'fast-check';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Condition, Mutex, SharedMemory } from '../../lib';
import { fixtures, kill, shmNames } from '../helpers';

const newName = shmNames('robust');
const COUNT = 5;
const RUNS = Number(process.env.ROBUST_RUNS ?? 25);

type Op = [string, number];

// A held mutex's two robust-list links, as overwritten by 'corruptLinks': `next` points at the
// older neighbour (the kernel walks it), `prev` at the newer one. Legitimate list operations on
// other mutexes rewrite some of them: locking a mutex sets the previous newest's `prev`, and
// unlocking one sets its newer neighbour's `next` and its older neighbour's `prev`. A link so
// rewritten is intact again, so the model tracks the two separately.
interface Model {
  held: boolean;
  nextCorrupt: boolean;
  prevCorrupt: boolean;
  wiped: boolean;
}

const corrupt = (m: Model) => m.nextCorrupt || m.prevCorrupt;

// What each operation should report, and how it changes the model. `order` lists the held
// mutexes oldest first, as the child's robust list links them (newest at the head).
function expected(op: Op, models: Model[], order: number[]): string[] {
  const [kind, i] = op;
  const m = models[i];
  const release = () => {
    const at = order.indexOf(i);
    if (at > 0) models[order[at - 1]].prevCorrupt = false; // the older neighbour's prev
    if (at < order.length - 1) models[order[at + 1]].nextCorrupt = false; // the newer neighbour's next
    order.splice(at, 1);
  };
  const push = () => {
    if (order.length > 0) models[order[order.length - 1]].prevCorrupt = false;
    order.push(i);
  };
  switch (kind) {
    case 'lock':
    case 'tryLock':
      if (m.held) return [kind === 'lock' ? 'ERR_IPC_MUTEX_HELD' : 'busy'];
      if (m.wiped) return ['ERR_IPC_MUTEX_CORRUPT'];
      Object.assign(m, { held: true, nextCorrupt: false, prevCorrupt: false });
      push();
      return ['ok'];
    case 'unlock':
      if (!m.held) return ['ERR_IPC_MUTEX_NOT_OWNER'];
      m.held = false;
      release();
      return [corrupt(m) || m.wiped ? 'ERR_IPC_MUTEX_CORRUPT' : 'ok'];
    case 'corruptLinks':
      // Links of a mutex nobody holds are rewritten by the next lock; only a held one is hurt.
      if (m.held && !m.wiped) Object.assign(m, { nextCorrupt: true, prevCorrupt: true });
      return ['ok'];
    case 'wipe':
      m.wiped = true;
      return ['ok'];
    case 'recreate':
      if (m.held) return ['ERR_IPC_MUTEX_HELD'];
      Object.assign(m, { nextCorrupt: false, prevCorrupt: false, wiped: false });
      return ['ok'];
    case 'condWait':
      if (!m.held) return ['ERR_IPC_MUTEX_NOT_OWNER'];
      release();
      if (corrupt(m) || m.wiped) {
        m.held = false;
        return ['ERR_IPC_MUTEX_CORRUPT'];
      }
      push(); // relocked: now the newest
      return ['timed-out', 'ok']; // a futex wait may end spuriously; either way it relocks
    default:
      throw new Error(kind);
  }
}

function runChild(name: string, ops: Op[]): Promise<{ results: string[]; stop: () => Promise<NodeJS.Signals | null> }> {
  const child = spawn(process.execPath, [path.join(fixtures, 'robust-ops.js'), name, JSON.stringify(ops), String(COUNT)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const lines = stdout.split('\n');
      if (lines.includes('ready')) resolve({ results: JSON.parse(lines[0]), stop: () => kill(child) });
    });
    child.on('exit', (code, signal) => reject(new Error(`robust-ops exited (${code ?? signal}) before it was killed: ${stdout}${stderr}`)));
  });
}

const opArb: fc.Arbitrary<Op> = fc.tuple(
  fc.constantFrom('lock', 'tryLock', 'unlock', 'unlock', 'corruptLinks', 'wipe', 'recreate', 'condWait'),
  fc.integer({ min: 0, max: COUNT - 1 }),
);

test(`robust list survives random overwrites of held mutexes (${RUNS} runs of up to 40 operations on ${COUNT} mutexes)`, async () => {
  const seed = Number(process.env.ROBUST_SEED ?? Date.now() % 2 ** 31);
  console.log(`robust-list seed ${seed} (replay: ROBUST_SEED=${seed})`);
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
      const name = newName();
      const shm = SharedMemory.create(name, { size: 4096 });
      try {
        for (let i = 0; i < COUNT; i++) {
          Mutex.create(shm, 64 * i);
          Condition.create(shm, 64 * COUNT + 32 * i);
        }
        const models: Model[] = Array.from({ length: COUNT }, () => ({ held: false, nextCorrupt: false, prevCorrupt: false, wiped: false }));
        const order: number[] = [];
        const child = await runChild(name, ops);
        const signal = await child.stop();
        expect(signal).toBe('SIGKILL');
        ops.forEach((op, k) => {
          const allowed = expected(op, models, order);
          if (!allowed.includes(child.results[k])) {
            throw new Error(`operation ${k} ${JSON.stringify(op)}: got ${child.results[k]}, expected ${allowed.join(' or ')}`);
          }
        });
        // The kernel walked the dead child's robust list from the newest held mutex, up to and
        // including the first one whose next link had been overwritten.
        const reached = new Set<number>();
        for (const i of [...order].reverse()) {
          reached.add(i);
          if (models[i].nextCorrupt || models[i].wiped) break;
        }
        for (let i = 0; i < COUNT; i++) {
          const mutex = Mutex.open(shm, 64 * i);
          if (models[i].wiped) {
            expect(() => mutex.tryLock()).toThrow(expect.objectContaining({ code: 'ERR_IPC_MUTEX_CORRUPT' }));
            continue;
          }
          if (models[i].held && !reached.has(i)) {
            expect(() => mutex.lockSync({ timeout: 50 })).toThrow(expect.objectContaining({ code: 'ERR_IPC_TIMEOUT' }));
            continue;
          }
          expect({ i, ...mutex.lockSync({ timeout: 2000 }) }).toEqual({ i, ownerDied: models[i].held });
          if (mutex.ownerDied) mutex.markConsistent();
          mutex.unlock();
        }
      } finally {
        shm.close();
      }
    }),
    { seed, numRuns: RUNS },
  );
}, 300000);

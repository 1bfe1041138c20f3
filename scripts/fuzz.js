#!/usr/bin/env node
// The fuzzer from the command line (test/lifecycle/fuzz.test.ts runs the same thing under jest):
//   node scripts/fuzz.js [--seed N] [--runs N] [--steps N] [--survey] [--path P] [--minimise-ms N] [--threads]
//   node scripts/fuzz.js --replay FILE      (steps written by an earlier failure)
// --survey records every failing run instead of stopping at the first; --threads caps the
// address space so that waiter threads cannot be created. Needs `npm run compile` first.
'use strict';
const path = require('node:path');
const { fuzz, replaySteps } = require(path.join(__dirname, '../test/fixtures/fuzz/parent'));
const { render } = require(path.join(__dirname, '../test/fixtures/fuzz/steps'));

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const flag = (name) => args.includes(name);

async function main() {
  const replay = option('--replay');
  if (replay !== undefined) {
    const { steps } = require(path.resolve(replay));
    steps.forEach((s, i) => console.log(`${String(i).padStart(3)} ${render(s)}`));
    const r = await replaySteps(steps, { env: { FUZZ_GRACE_MS: process.env.FUZZ_GRACE_MS ?? '3000' } });
    console.log(r.kind ?? `ended normally: ${JSON.stringify(r.summary?.violations ?? [], null, 1)}`);
    if (r.stderr) console.log(r.stderr.split('\n').slice(0, 60).join('\n'));
    process.exit(r.kind === null && !r.summary?.failed ? 0 : 1);
  }
  const seed = Number(option('--seed', process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31)));
  const runs = Number(option('--runs', process.env.FUZZ_RUNS ?? 100));
  const env = {};
  if (option('--steps') !== undefined) env.FUZZ_STEPS = option('--steps');
  if (flag('--survey')) env.FUZZ_SURVEY = '1';
  if (option('--path') !== undefined) env.FUZZ_PATH = option('--path');
  if (flag('--threads')) env.FUZZ_AS_HEADROOM_MB = '256';
  for (const k of ['FUZZ_GRACE_MS', 'FUZZ_STALL_MS', 'FUZZ_SHRINK_MS', 'FUZZ_TIME_MS']) if (process.env[k] !== undefined) env[k] = process.env[k];
  const result = await fuzz({ seed, runs, env, timeoutMs: 60 * 60 * 1000, minimiseMs: Number(option('--minimise-ms', 120000)) });
  console.log(result.message);
  process.exit(result.ok ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});

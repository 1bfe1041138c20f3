// Each ES module entry (wrapper.mjs, posix.mjs, windows.mjs) names every export of its CommonJS
// entry, as the same objects: a name left out of an .mjs file would be missing only for `import`.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../helpers';

const entries: [string, string][] = [
  ['wrapper.mjs', 'dist/index.js'],
  ['posix.mjs', 'dist/posix.js'],
  ['windows.mjs', 'dist/windows.js'],
];

test.each(entries)('%s exports what %s does, the same objects', (mjs, cjs) => {
  const script = `
    import * as esm from ${JSON.stringify(path.join(repoRoot, mjs))};
    import { createRequire } from 'node:module';
    const cjs = createRequire(import.meta.url)(${JSON.stringify(path.join(repoRoot, cjs))});
    const names = Object.keys(cjs).filter((name) => name !== '__esModule').sort();
    const exported = Object.keys(esm).filter((name) => name !== 'default').sort();
    const differ = names.filter((name) => esm[name] !== cjs[name]);
    console.log(JSON.stringify({ names, exported, differ, defaultIsCjs: esm.default === cjs }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as {
    names: string[];
    exported: string[];
    differ: string[];
    defaultIsCjs: boolean;
  };
  expect(out.names.length).toBeGreaterThan(0);
  expect(out.exported).toEqual(out.names);
  expect(out.differ).toEqual([]);
  expect(out.defaultIsCjs).toBe(true);
});

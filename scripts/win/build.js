#!/usr/bin/env node
// Cross-builds the Windows addon with mingw-w64 into prebuilds/win32-x64/ipckit.node, where
// node-gyp-build finds it on Windows. The sources, include directories and defines are read from
// binding.gyp (its common list and its OS=='win' condition), so the two builds cannot drift; the
// libraries come from that condition's "libraries". node.exe's N-API imports are linked through
// an import library made from node-api-headers' def file. See ../shared/WINDOWS.md.
//   node scripts/win/build.js [--out DIR] [--debug]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { execFileSync, spawn } = require('node:child_process');

const root = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const outDir = path.resolve(root, args.includes('--out') ? args[args.indexOf('--out') + 1] : 'prebuilds/win32-x64');
const debug = args.includes('--debug');
const cxx = process.env.IPCKIT_WIN_CXX || 'x86_64-w64-mingw32-g++-posix';
const dlltool = process.env.IPCKIT_WIN_DLLTOOL || 'x86_64-w64-mingw32-dlltool';

// binding.gyp is a Python literal: strip its comments (a # outside a string) and read it as JSON.
function readGyp(file) {
  const text = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => {
      let inString = false;
      for (let i = 0; i < line.length; i++) {
        if (line[i] === '"' && line[i - 1] !== '\\') inString = !inString;
        else if (line[i] === '#' && !inString) return line.slice(0, i);
      }
      return line;
    })
    .join('\n')
    .replace(/,(\s*[\]}])/g, '$1');
  return JSON.parse(text);
}

// Evaluates the few condition forms binding.gyp uses, for OS=='win'.
function conditionHolds(expr) {
  const js = expr
    .replace(/\bOS\b/g, "'win'")
    .replace(/\band\b/g, '&&')
    .replace(/\bor\b/g, '||');
  if (!/^[\s'a-z=!&|()]+$/.test(js)) throw new Error(`binding.gyp: condition not understood: ${expr}`);
  return Function(`return (${js});`)();
}

const gyp = readGyp(path.join(root, 'binding.gyp'));
const target = gyp.targets.find((t) => t.target_name === 'ipckit');
const sources = [...target.sources];
const includeDirs = [...target.include_dirs];
const defines = [...target.defines];
const libraries = [];
for (const [expr, settings] of target.conditions || []) {
  if (!conditionHolds(expr)) continue;
  sources.push(...(settings.sources || []));
  includeDirs.push(...(settings.include_dirs || []));
  defines.push(...(settings.defines || []));
  libraries.push(...(settings.libraries || []));
}
if (!sources.some((s) => s.startsWith('native/win/'))) throw new Error("binding.gyp: no native/win/ sources under OS=='win'");

const apiHeaders = path.dirname(require.resolve('node-api-headers/package.json'));
const addonApi = path.dirname(require.resolve('node-addon-api/package.json'));
async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ipckit-win-'));
  try {
    const importLib = path.join(work, 'libnode_api.a');
    execFileSync(dlltool, ['-d', path.join(apiHeaders, 'def', 'node_api.def'), '-l', importLib, '-D', 'node.exe'], { stdio: 'inherit' });
    const flags = [
      '-std=c++17',
      debug ? '-O0' : '-O2',
      '-g0',
      '-Wall',
      '-Wextra',
      '-fvisibility=hidden',
      // node-addon-api's except target, and what a Windows build of binding.gyp defines.
      '-DNAPI_CPP_EXCEPTIONS',
      '-D_HAS_EXCEPTIONS=1',
      '-D_WIN32_WINNT=0x0A00',
      '-DBUILDING_NODE_EXTENSION',
      ...defines.map((d) => `-D${d}`),
      ...includeDirs.map((d) => `-I${path.join(root, d)}`),
      `-I${path.join(apiHeaders, 'include')}`,
      `-I${addonApi}`,
    ];
    // Two compilers at a time (IPCKIT_WIN_JOBS): the machines have two cores.
    const jobs = Math.max(1, Number(process.env.IPCKIT_WIN_JOBS) || 2);
    const objects = sources.map((src) => path.join(work, src.replace(/[\\/]/g, '_') + '.o'));
    let next = 0;
    let failed = null;
    const worker = async () => {
      while (next < sources.length && failed === null) {
        const i = next++;
        const code = await new Promise((resolve) => {
          spawn(cxx, [...flags, '-c', path.join(root, sources[i]), '-o', objects[i]], { stdio: 'inherit' }).on('close', resolve);
        });
        if (code !== 0) failed = sources[i];
      }
    };
    await Promise.all(Array.from({ length: jobs }, worker));
    if (failed !== null) throw new Error(`${failed} did not compile`);
    fs.mkdirSync(outDir, { recursive: true });
    const out = path.join(outDir, 'ipckit.node');
    const libs = libraries.map((l) => (l.startsWith('-l') ? l : `-l${l.replace(/\.lib$/i, '')}`));
    execFileSync(
      cxx,
      ['-shared', '-static', '-static-libgcc', '-static-libstdc++', ...(debug ? [] : ['-s']), '-o', out, ...objects, importLib, ...libs],
      { stdio: 'inherit' },
    );
    console.log(`build:win: ${path.relative(root, out)} (${fs.statSync(out).size} bytes, ${sources.length} sources)`);
  } catch (error) {
    // The compiler has printed its diagnostics already.
    console.error(`build:win: failed: ${error.message.split('\n')[0]}`);
    process.exitCode = 1;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main();

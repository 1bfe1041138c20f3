#!/usr/bin/env node
// Run by `npm pack` and `npm publish` (the prepack script) after prebuildify: refuses to let a
// tarball be made without the linux-x64 prebuild that installs rely on (they have no compiler to
// fall back on). Checks the file is there, is an x86-64 ELF shared object, and loads here.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const rel = path.join('prebuilds', 'linux-x64', 'ipckit.node');
const file = path.resolve(process.argv[2] || '.', rel);

function fail(why) {
  console.error(`\nprepack: ${why}`);
  console.error(`prepack: refusing to pack without ${rel} (built by \`prebuildify --napi --strip\`).\n`);
  process.exit(1);
}

let head;
try {
  const fd = fs.openSync(file, 'r');
  head = Buffer.alloc(20);
  fs.readSync(fd, head, 0, 20, 0);
  fs.closeSync(fd);
} catch (e) {
  fail(`${file} is missing (${e.code || e.message})`);
}
// ELF magic, 64-bit, little-endian, e_type ET_DYN (3), e_machine EM_X86_64 (62).
if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) fail(`${file} is not a 64-bit little-endian ELF file`);
if (head.readUInt16LE(16) !== 3 || head.readUInt16LE(18) !== 62) fail(`${file} is not an x86-64 shared object`);
if (process.platform === 'linux' && process.arch === 'x64') {
  let addon;
  try {
    addon = require(file);
  } catch (e) {
    fail(`${file} does not load: ${e.message}`);
  }
  if (!addon || typeof addon !== 'object' || Object.keys(addon).length === 0) fail(`${file} loads but exports nothing`);
}
console.log(`prepack: ${rel} present (${fs.statSync(file).size} bytes) and loads`);

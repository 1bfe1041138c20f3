#!/usr/bin/env node
// Run by `npm pack` and `npm publish` (the prepack script) after prebuildify and the Windows cross
// build: refuses to let a tarball be made without the prebuilds that installs rely on (they have
// no compiler to fall back on). prebuilds/linux-x64/ipckit.node must be an x86-64 ELF shared
// object that loads here; prebuilds/win32-x64/ipckit.node an x86-64 PE DLL (scripts/win/build.js)
// that imports nothing beyond what every Windows has and node.exe.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(process.argv[2] || '.');
const linux = path.join('prebuilds', 'linux-x64', 'ipckit.node');
const windows = path.join('prebuilds', 'win32-x64', 'ipckit.node');

function fail(rel, why, how) {
  console.error(`\nprepack: ${why}`);
  console.error(`prepack: refusing to pack without ${rel} (built by \`${how}\`).\n`);
  process.exit(1);
}

function read(rel, how) {
  const file = path.join(root, rel);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    fail(rel, `${file} is missing (${e.code || e.message})`, how);
  }
}

// Linux: ELF magic, 64-bit, little-endian, e_type ET_DYN (3), e_machine EM_X86_64 (62).
{
  const how = 'prebuildify --napi --strip';
  const file = path.join(root, linux);
  const head = read(linux, how);
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1)
    fail(linux, `${file} is not a 64-bit little-endian ELF file`, how);
  if (head.readUInt16LE(16) !== 3 || head.readUInt16LE(18) !== 62) fail(linux, `${file} is not an x86-64 shared object`, how);
  if (process.platform === 'linux' && process.arch === 'x64') {
    let addon;
    try {
      addon = require(file);
    } catch (e) {
      fail(linux, `${file} does not load: ${e.message}`, how);
    }
    if (!addon || typeof addon !== 'object' || Object.keys(addon).length === 0) fail(linux, `${file} loads but exports nothing`, how);
  }
  console.log(`prepack: ${linux} present (${head.length} bytes) and loads`);
}

// Windows: "MZ", the PE header at e_lfanew, machine AMD64 (0x8664), characteristics with
// IMAGE_FILE_DLL (0x2000); and its imported DLLs, read from the import directory.
{
  const how = 'npm run build:win';
  const file = path.join(root, windows);
  const pe = read(windows, how);
  if (pe.length < 64 || pe.readUInt16LE(0) !== 0x5a4d) fail(windows, `${file} is not a Windows executable (no MZ header)`, how);
  const at = pe.readUInt32LE(0x3c);
  if (at + 24 > pe.length || pe.readUInt32BE(at) !== 0x50450000) fail(windows, `${file} has no PE header`, how);
  if (pe.readUInt16LE(at + 4) !== 0x8664) fail(windows, `${file} is not an x86-64 image`, how);
  if ((pe.readUInt16LE(at + 22) & 0x2000) === 0) fail(windows, `${file} is not a DLL`, how);
  const imports = importedDlls(pe, at);
  const allowed = new Set(['kernel32.dll', 'msvcrt.dll', 'node.exe', 'advapi32.dll', 'ntdll.dll']);
  const foreign = imports.filter((d) => !allowed.has(d.toLowerCase()));
  if (!imports.some((d) => d.toLowerCase() === 'node.exe')) fail(windows, `${file} does not import N-API from node.exe`, how);
  if (foreign.length > 0) fail(windows, `${file} needs DLLs a Windows machine may lack: ${foreign.join(', ')}`, how);
  console.log(`prepack: ${windows} present (${pe.length} bytes), an x86-64 DLL importing ${imports.join(', ')}`);
}

function importedDlls(pe, at) {
  const optional = at + 24;
  if (pe.readUInt16LE(optional) !== 0x20b) return []; // not PE32+
  const sections = optional + pe.readUInt16LE(at + 20);
  const count = pe.readUInt16LE(at + 6);
  const toOffset = (rva) => {
    for (let i = 0; i < count; i++) {
      const s = sections + i * 40;
      const va = pe.readUInt32LE(s + 12);
      const size = Math.max(pe.readUInt32LE(s + 8), pe.readUInt32LE(s + 16));
      if (rva >= va && rva < va + size) return rva - va + pe.readUInt32LE(s + 20);
    }
    return -1;
  };
  const dir = toOffset(pe.readUInt32LE(optional + 112 + 8)); // data directory 1: imports
  const names = [];
  for (let d = dir; d >= 0 && d + 20 <= pe.length; d += 20) {
    const nameRva = pe.readUInt32LE(d + 12);
    if (nameRva === 0) break;
    const n = toOffset(nameRva);
    if (n < 0) break;
    names.push(pe.toString('latin1', n, pe.indexOf(0, n)));
  }
  return names;
}

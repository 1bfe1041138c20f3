'use strict';
// Runs a command pinned to one CPU (taskset) and parses the one line of JSON it prints.
const { spawn } = require('node:child_process');

function runPinned(cpu, argv, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', String(cpu), ...argv], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${argv.join(' ')} exited ${code}`))));
  });
}

module.exports = { runPinned };

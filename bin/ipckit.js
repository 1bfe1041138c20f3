#!/usr/bin/env node
// The `ipckit` command (lib/cli.ts): ipckit ls | stat | rm | limits | bench. ipckit --help.
'use strict';
require('../dist/cli.js')
  .main(process.argv.slice(2))
  .then((status) => {
    process.exitCode = status;
  });

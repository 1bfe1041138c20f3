// The Windows suite (npm run test:win, scripts/win/test.sh): run by a genuine Windows node.exe under
// Wine, against the mingw-w64 build in prebuilds/win32-x64/ (PREBUILDS_ONLY makes node-gyp-build
// take it over a Linux build/). test/portable/ is the same files the Linux run takes; test/win/ is
// Windows only. Jest 29 runs it, from .cache/win/runner/: jest 30's resolver is a native module
// built against MSVC runtime DLLs that Wine 8 lacks, jest 29's is plain JavaScript.
const fs = require('node:fs');
const path = require('node:path');
// jest 29 has no workerGracefulExitTimeout.
const base = { ...require('./jest.config.js') };
delete base.workerGracefulExitTimeout;
const runner = path.join(__dirname, '.cache', 'win', 'runner', 'node_modules');
/** @type {import('jest').Config} */
module.exports = {
  ...base,
  // test/portable/ may not exist yet: jest refuses a root that is missing.
  roots: ['test/win', 'test/portable'].filter((dir) => fs.existsSync(path.join(__dirname, dir))).map((dir) => `<rootDir>/${dir}`),
  testPathIgnorePatterns: ['/node_modules/'],
  transform: {
    '^.+\\.ts$': [path.join(runner, 'ts-jest'), { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  cacheDirectory: '<rootDir>/.cache/win/jest',
};

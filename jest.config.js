/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Grouped by what they prove: unit, kernel, interop, lifecycle, package, types (see the README's
  // Development section). Shared support (helpers.ts, fixtures/, c/, python/) sits in test/ itself.
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/win/ runs on Windows only: under Wine through npm run test:win (jest.win.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/win/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  // The type tests import the package by name, as users do: its built declarations for the type
  // check (tsconfig.test.json's paths) and the same files' JavaScript here, both as exported by
  // package.json (test/types/public-api.test.ts checks that the three agree).
  moduleNameMapper: {
    '^ipckit$': '<rootDir>/dist/index.js',
    '^ipckit/posix$': '<rootDir>/dist/posix.js',
    '^ipckit/windows$': '<rootDir>/dist/windows.js',
  },
  testTimeout: 60000,
  // A worker ends on its own once its tests leave nothing referenced; jest waits this long for that
  // before it kills the worker and warns. Its default, 500 ms, is a timed check: an idle jest
  // worker here takes 100 to 200 ms to exit with tests that never load ipckit, and after a full
  // run on two shared cores it took over 500 ms with nothing left open (every test file exits
  // alone, and under --detectOpenHandles, when run by itself). A handle left referenced still
  // keeps a worker alive past any bound, and is still reported.
  workerGracefulExitTimeout: 10000,
  // Two cores here: one worker per core keeps the process-spawning tests from starving each other.
  maxWorkers: 2,
};

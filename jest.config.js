/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Grouped by what they prove: unit, kernel, interop, lifecycle, package, types (see the README's
  // Development section). Shared support (helpers.ts, fixtures/, c/, python/) sits in test/ itself.
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  // The type tests import the package by name, as users do: its built declarations for the type
  // check (tsconfig.test.json's paths) and the same files' JavaScript here, both as exported by
  // package.json (test/types/public-api.test.ts checks that the three agree).
  moduleNameMapper: {
    '^ipckit$': '<rootDir>/dist/index.js',
    '^ipckit/posix$': '<rootDir>/dist/posix.js',
  },
  testTimeout: 60000,
  // Two cores here: one worker per core keeps the process-spawning tests from starving each other.
  maxWorkers: 2,
};

/**
 * Jest runs TypeScript through swc (no type checking: `npm run typecheck` does that). `npm test` runs
 * every tier; `test:integration`, `test:data-quality` and `test:workflows` select theirs by file suffix.
 */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': ['@swc/jest'] },
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/cdktf.out/', '/\\.data/'],
  // Most suites wait on PostgreSQL, Redis, emulators or child processes: more workers than the 2 cores
  // (jest's default would be 1 here) keep both busy.
  maxWorkers: 3,
  globalSetup: '<rootDir>/test/support/global-setup.js',
  reporters: ['default', '<rootDir>/test/support/slowest-files-reporter.js'],
  testTimeout: 60000,
};

/**
 * Jest runs TypeScript through swc (no type checking: `npm run typecheck` does that). `npm test` runs
 * every tier; `test:integration`, `test:data-quality` and `test:workflows` select theirs by file suffix.
 */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': ['@swc/jest'] },
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/cdktf.out/', '/\\.data/'],
  testTimeout: 60000,
};

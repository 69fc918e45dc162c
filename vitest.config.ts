import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their TypeScript sources, so a test run never depends on a stale build.
const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));

const testFiles = ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'];
// A test that needs an external server or tool (Cassandra, Kafka, Redis, python3-whisper) is named
// `*.external.test.ts`; every other test is a unit test and must run with none of them installed.
const externalTests = ['packages/*/test/**/*.external.test.ts', 'test/**/*.external.test.ts'];

export default defineConfig({
  resolve: {
    alias: [{ find: /^@carillon\/([a-z]+)$/, replacement: `${packagesDir}$1/src/index.ts` }],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // `vitest run` runs both projects; `npm run test:unit` runs `--project unit`.
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: testFiles, exclude: externalTests },
      },
      {
        extends: true,
        // Only the external tests get the real-server harness (test/harness/README.md).
        test: { name: 'external', include: externalTests, globalSetup: ['test/harness/global-setup.ts'] },
      },
    ],
  },
});

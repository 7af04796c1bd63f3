import { defineConfig } from 'vitest/config';

// Two projects: pure-TypeScript unit tests run in parallel; everything that builds
// namespaces runs as root, one file at a time, because the suites share one machine.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'root',
          include: [
            'test/integration/**/*.test.ts',
            'test/conformance/**/*.test.ts',
            'test/bench/**/*.test.ts',
            'test/e2e/**/*.test.ts',
          ],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});

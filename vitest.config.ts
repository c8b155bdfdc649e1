import { defineConfig } from 'vitest/config';

/**
 * One Vitest run, five projects. Unit and infra tests need nothing but Node; integration tests
 * start DynamoDB Local (Java); end-to-end tests start the whole local stack. The chaos test is a
 * project of its own so that it runs beside the other end-to-end files rather than after them.
 * `npm test` runs all.
 */
/**
 * `PARLEY_E2E_TARGET=localstack` (or `aws`) points the end-to-end suite at a deployment: only the
 * wire-only conformance file can run there; the other files drive the local stack's own controls
 * (see test/e2e/target.ts and docs/localstack.md).
 */
const deployedTarget = !['', 'local', undefined].includes(process.env.PARLEY_E2E_TARGET);

const endToEnd = {
  environment: 'node',
  testTimeout: 120_000,
  hookTimeout: 180_000,
  fileParallelism: false,
} as const;

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Handlers log every refusal and failure they are tested for; the assertions are on replies.
          env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/fuzz/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: deployedTarget ? ['test/e2e/conformance.test.ts'] : ['test/e2e/**/*.test.ts'],
          exclude: ['test/e2e/chaos.test.ts'],
          ...endToEnd,
        },
      },
      {
        test: {
          name: 'chaos',
          include: deployedTarget ? [] : ['test/e2e/chaos.test.ts'],
          ...endToEnd,
        },
      },
    ],
  },
});

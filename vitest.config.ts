import { defineConfig } from 'vitest/config';
import SummaryLineReporter from './test/summary-reporter';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Integration tests wait on real workflows; each file brings its own database and task queue.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', new SummaryLineReporter()],
    pool: 'forks',
    // Two cores: more parallel files only contend for them.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});

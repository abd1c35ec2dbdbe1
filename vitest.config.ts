import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/vm/**/*.test.ts', 'test/integration/**/*.test.ts'],
    // VM tests share two cores with QEMU: one file at a time keeps boot times predictable.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});

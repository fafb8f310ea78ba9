import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One test file at a time: several files start worker threads on a shared heap, and with two
    // cores running them side by side oversubscribes the machine; a worker test once hung under
    // that load (see tests/unit/shared.test.ts). The suite still takes well under a minute.
    fileParallelism: false,
  },
});

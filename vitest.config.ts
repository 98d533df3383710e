import { defineConfig } from "vitest/config";

/**
 * The JS test suites run against the built package (dist/ + native/), so `npm run build` comes first.
 * Property tests scale with CHROMALITE_FUZZ_RUNS (and CHROMALITE_FUZZ_SEED picks another seed); the
 * defaults keep the whole run within a couple of minutes on 2 cores.
 */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Each file gets its own process, so each has its own in-memory Chroma system.
    isolate: true,
  },
});

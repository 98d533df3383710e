import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["js/src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  outDir: "dist",
  // import.meta.url (used to locate the native addon) also works in the CommonJS build.
  shims: true,
  target: "node18",
  clean: true,
});

// Totals cargo's and vitest's results into one closing line: "N passed, N failed, N skipped".
// A suite whose report is missing counts as one failure, so a crashed runner can never look green.
import { existsSync, readFileSync } from "node:fs";

const [cargoLog, vitestJson, ...plainLogs] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;

const cargoText = existsSync(cargoLog) ? readFileSync(cargoLog, "utf8") : "";
const cargoResults = [...cargoText.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/g)];
if (cargoResults.length === 0) {
  console.error("summary: no cargo test result found");
  failed += 1;
}
for (const [, p, f, i] of cargoResults) {
  passed += Number(p);
  failed += Number(f);
  skipped += Number(i);
}

if (existsSync(vitestJson)) {
  const report = JSON.parse(readFileSync(vitestJson, "utf8"));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  // Files that failed to load report no tests but are failures.
  failed += report.testResults.filter((r) => r.status === "failed" && r.assertionResults.length === 0).length;
} else {
  console.error("summary: no vitest report found");
  failed += 1;
}

// Other suites end with a plain "name: N passed, N failed" line.
for (const log of plainLogs) {
  const text = existsSync(log) ? readFileSync(log, "utf8") : "";
  const last = [...text.matchAll(/^\w[\w-]*: (\d+) passed, (\d+) failed$/gm)].pop();
  if (!last) {
    console.error(`summary: no result line in ${log}`);
    failed += 1;
    continue;
  }
  passed += Number(last[1]);
  failed += Number(last[2]);
}

console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);

// Adds up the vitest JSON reports (.vitest-result.json) that each workspace package writes
// and prints the closing line CI reads: "N passed, N failed". Each failed test is named again
// here, with the start of its message, because CI keeps only the tail of the log.
import { readdirSync, readFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
const failures = [];
for (const group of ["packages", "apps", "tools"]) {
  const groupDir = join(root, group);
  if (!existsSync(groupDir)) continue;
  for (const name of readdirSync(groupDir)) {
    const packageDir = join(groupDir, name);
    if (!statSync(packageDir).isDirectory()) continue;
    for (const report of [".vitest-result.json", ".e2e-result.json"]) {
      const file = join(packageDir, report);
      if (!existsSync(file)) continue;
      const result = JSON.parse(readFileSync(file, "utf8"));
      const ok = result.numPassedTests ?? 0;
      const bad = (result.numFailedTests ?? 0) + (result.success === false && !(result.numFailedTests > 0) ? 1 : 0);
      const skip = (result.numPendingTests ?? 0) + (result.numTodoTests ?? 0);
      passed += ok;
      failed += bad;
      skipped += skip;
      rows.push(`${group}/${name} (${report}): ${ok} passed, ${bad} failed, ${skip} skipped`);
      for (const suite of result.testResults ?? []) {
        const file = String(suite.name ?? "").replace(root, "");
        const failedTests = (suite.assertionResults ?? []).filter((test) => test.status === "failed");
        for (const test of failedTests) failures.push(`${file} > ${test.fullName ?? test.title}\n    ${firstLines(test.failureMessages)}`);
        if (suite.status === "failed" && failedTests.length === 0) failures.push(`${file} (the file failed to run)\n    ${firstLines([suite.message])}`);
      }
    }
  }
}
for (const row of rows) console.log(row);
if (failures.length > 0) console.log(`failed:\n  ${failures.join("\n  ")}`);
if (rows.length === 0) {
  console.log("no test reports found");
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);

/** The first lines of a test's failure messages, indented, ANSI colours stripped. */
function firstLines(messages) {
  const text = (messages ?? []).filter(Boolean).join("\n").replace(/\u001b\[[0-9;]*m/g, "");
  // vitest's JSON report gives a timed-out test only this placeholder and a stack; its console output says "Test timed out".
  if (text.startsWith("Error: STACK_TRACE_ERROR")) return `no message in the JSON report: vitest reports a timed-out test this way (its console line reads "Test timed out in N ms")\n    ${text.split("\n").slice(1, 6).join("\n    ")}`;
  return text.split("\n").slice(0, 12).join("\n    ");
}

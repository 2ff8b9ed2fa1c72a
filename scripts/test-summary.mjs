// Adds up the vitest JSON reports (.vitest-result.json) that each workspace package writes
// and prints the closing line CI reads: "N passed, N failed".
import { readdirSync, readFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
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
    }
  }
}
for (const row of rows) console.log(row);
if (rows.length === 0) {
  console.log("no test reports found");
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);

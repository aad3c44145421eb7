// The survived and uncovered mutants of a Stryker JSON report, one per line with the id
// stryker/killcheck.sh takes, and the original line below each.
//   node stryker/survivors.mjs reports/mutation/mutation.json [FILE-FILTER]
import { readFileSync } from "node:fs";

const [reportPath, filter = ""] = process.argv.slice(2);
const report = JSON.parse(readFileSync(reportPath, "utf8"));
for (const [file, entry] of Object.entries(report.files)) {
  if (!file.includes(filter)) continue;
  const lines = (entry.source ?? "").split("\n");
  entry.mutants.forEach((m, i) => {
    if (m.status !== "Survived" && m.status !== "NoCoverage") return;
    const { line, column } = m.location.start;
    const repl = (m.replacement ?? "").replace(/\n/g, " ").slice(0, 100);
    console.log(`idx:${file}:${i} ${file}:${line}:${column} ${m.status} ${m.mutatorName}: ${repl}`);
    console.log(`    | ${(lines[line - 1] ?? "").trim().slice(0, 150)}`);
  });
}

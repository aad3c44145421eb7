// Apply one mutant of a Stryker JSON report (reports/mutation/mutation.json) to the working tree,
// to check by hand whether the tests kill it (stryker/killcheck.sh). Stryker's vitest runner can
// misreport mutants in code that runs at import (constants, regex tables, zod schemas) as
// survived; applying the mutant to the file and running the tests is the ground truth.
//   node stryker/apply-mutant.mjs REPORT.json ID          prints the file it changed
//   ID: the mutant's id, or idx:FILE:N (the N-th mutant of FILE: ids of reused mutants hold newlines)
// Refuses (exit 3) when the file is not the source the report was made from.
import { readFileSync, writeFileSync } from "node:fs";

const [reportPath, id] = process.argv.slice(2);
const report = JSON.parse(readFileSync(reportPath, "utf8"));
const ix = /^idx:(.+):(\d+)$/.exec(id ?? "");
for (const [file, entry] of Object.entries(report.files)) {
  if (ix && ix[1] !== file) continue;
  const m = ix ? entry.mutants[Number(ix[2])] : entry.mutants.find((x) => String(x.id) === id);
  if (!m) continue;
  const current = readFileSync(file, "utf8");
  if (current !== entry.source) {
    console.error(`${file} changed since the report was made: run Stryker again`);
    process.exit(3);
  }
  const lines = current.split("\n");
  const offset = (p) => lines.slice(0, p.line - 1).reduce((a, l) => a + l.length + 1, 0) + p.column - 1;
  const a = offset(m.location.start);
  const b = offset(m.location.end);
  writeFileSync(file, current.slice(0, a) + m.replacement + current.slice(b));
  console.log(file);
  process.exit(0);
}
console.error(`no mutant ${id} in ${reportPath}`);
process.exit(2);

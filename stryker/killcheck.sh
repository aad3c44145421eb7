#!/usr/bin/env bash
# Does a test kill this mutant? Applies one mutant of a Stryker report to its file, runs the unit
# test files named, puts the file back byte for byte, and prints KILLED or SURVIVED.
#   bash stryker/killcheck.sh reports/mutation/mutation.json ID test/unit/x.test.ts [...]
# IDs: `node stryker/survivors.mjs REPORT [FILE]` lists them. See docs/development.md.
set -u
cd "$(dirname "$0")/.."
report=$1 id=$2
shift 2
file=$(node stryker/apply-mutant.mjs "$report" "$id") || { echo "CANNOT-APPLY $id"; exit 3; }
saved=$(mktemp)
trap 'cat "$saved" > "$file"; rm -f "$saved"' EXIT
node -e 'const fs=require("fs");const r=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));fs.writeFileSync(process.argv[3],r.files[process.argv[2]].source)' "$report" "$file" "$saved"
out=$(mktemp)
trap 'cat "$saved" > "$file"; rm -f "$saved" "$out"' EXIT
if NO_COLOR=1 npx vitest run "$@" >"$out" 2>&1; then
  echo "SURVIVED $id ($file)"
# vitest also fails when no test ran (a wrong file name, a file outside the config's include, a
# -t that matches nothing): that is no kill. Pass --config for files outside vitest.config.ts.
elif grep -q "No test files found" "$out" || ! grep -q -E "^ *(Test Files|Tests) .*failed" "$out"; then
  echo "NO-TEST-RAN $id ($file): see the vitest output" >&2
  tail -n 15 "$out" >&2
  echo "NOT-CHECKED $id ($file)"
  exit 4
else
  echo "KILLED $id ($file)"
fi

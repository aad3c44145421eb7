// --hold FILE: a benchmark sets its testbed up, writes what its contenders need as a shell file
// (`export NAME='value'` lines: the daemon's socket, the recipe dirs, one script per contender), and
// keeps the testbed running until SIGINT or SIGTERM, so an outside whole-process timer can run the
// contenders itself (e.g. `. FILE; /usr/bin/time -v bash "$IK_LOOP4"`). Then it stops everything.
import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";

const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;

/** A contender as an executable script in `dir`: `#!/bin/bash` and `body`. Returns its path. */
export function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, `${name}.sh`);
  writeFileSync(file, `#!/bin/bash\nset -e\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** Writes `vars` to `file` and waits for SIGINT/SIGTERM. */
export async function hold(file: string, vars: Record<string, string>): Promise<void> {
  writeFileSync(
    file,
    Object.entries(vars)
      .map(([k, v]) => `export ${k}=${quote(v)}\n`)
      .join(""),
  );
  process.stdout.write(`testbed held: . ${file}; stop with kill -TERM ${process.pid}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

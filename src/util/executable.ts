// Can this command be executed, and if not, why — checked before `imagekeeper run` takes its lease,
// so a typo reads as a typo ("abra: not found on PATH") instead of a message from the helper that
// execs it, and nothing waits for a prune to start a command that cannot start. Exit statuses as
// a POSIX shell gives them: 127 not found, 126 found but not executable (2.8.2 "Exit Status for
// Commands").
import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";

export type Executable = { ok: true; path: string } | { ok: false; status: 126 | 127; why: string };

function check(file: string): { ok: true } | { ok: false; why: string; missing: boolean } {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, missing: code === "ENOENT" || code === "ENOTDIR", why: code ?? "cannot stat" };
  }
  if (st.isDirectory()) return { ok: false, missing: false, why: "is a directory" };
  try {
    accessSync(file, constants.X_OK);
    return { ok: true };
  } catch {
    return { ok: false, missing: false, why: "is not executable (no x permission for this user)" };
  }
}

/** Resolve `name` as execvp(3) would (a name with a slash is a path; else each PATH entry). */
export function findExecutable(name: string, envPath: string, cwd = process.cwd()): Executable {
  if (name === "") return { ok: false, status: 127, why: "is empty" };
  if (name.includes("/")) {
    const p = path.resolve(cwd, name);
    const r = check(p);
    if (r.ok) return { ok: true, path: p };
    return r.missing
      ? { ok: false, status: 127, why: `does not exist (${p})` }
      : { ok: false, status: 126, why: r.why };
  }
  let denied: string | undefined;
  for (const dir of envPath.split(":")) {
    // An empty PATH entry means the current directory (execvp's historical rule).
    const p = path.resolve(cwd, dir === "" ? "." : dir, name);
    const r = check(p);
    if (r.ok) return { ok: true, path: p };
    // Like execvp: a directory we may not search is skipped, a file we may not run is remembered.
    if (!r.missing && r.why !== "EACCES") denied ??= `${r.why} (${p})`;
  }
  if (denied) return { ok: false, status: 126, why: denied };
  return { ok: false, status: 127, why: "was not found on PATH" };
}

// Reading the registry password (a Docker Hub PAT) from a file or stdin. It never comes from argv
// (visible in ps and shell history) or the environment (inherited by every child, readable in
// /proc/PID/environ): under systemd the file is $CREDENTIALS_DIRECTORY/NAME (LoadCredential).
// Errors name the file, never its content.
import { readFileSync, statSync } from "node:fs";
import { InputError } from "../errors.js";

export interface Secret {
  value: string;
  /** Why the source looks unsafe (readable by others), for a warning. */
  warnings: string[];
}

const HINT =
  "Put the token alone in a file readable only by you (chmod 600), e.g. from sops-nix or agenix, and pass it with --password-file FILE (or - for stdin).";

/** `stdin` is process.stdin; a unit test passes a file's descriptor in its place. */
export function readSecret(source: string, stdin: { isTTY?: boolean; fd: number } = process.stdin): Secret {
  const warnings: string[] = [];
  let text: string;
  if (source === "-") {
    // A terminal would echo the token as it is typed, and wait forever in a unit.
    if (stdin.isTTY)
      throw new InputError("usage", "--password-file - reads the token from stdin, which is a terminal", {
        hint: "Pipe it in: imagekeeper auth login … --password-file - < FILE",
      });
    text = readFileSync(stdin.fd, "utf8");
  } else {
    try {
      const st = statSync(source);
      if (!st.isFile())
        throw new InputError("credentials", `the password file ${source} is not a regular file`, {
          file: source,
          hint: HINT,
        });
      if ((st.mode & 0o077) !== 0)
        warnings.push(
          `the password file ${source} is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`,
        );
      text = readFileSync(source, "utf8");
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(
        "credentials",
        `cannot read the password file ${source}: ${(e as NodeJS.ErrnoException).code ?? "error"}`,
        { file: source, hint: HINT },
      );
    }
  }
  // One trailing line break, as `docker login --password-stdin` strips it: `echo TOKEN > f` works.
  const value = text.replace(/\r?\n$/, "");
  const where = source === "-" ? "stdin" : `the password file ${source}`;
  if (value === "") throw new InputError("credentials", `${where} is empty`, { file: source, hint: HINT });
  if (/[\r\n]/.test(value))
    throw new InputError("credentials", `${where} holds more than one line`, { file: source, hint: HINT });
  return { value, warnings };
}

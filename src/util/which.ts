import { statSync } from "node:fs";
import path from "node:path";

/** Resolve a program name on PATH, as the kernel's execvp would; undefined when not found. */
export function which(name: string, envPath = process.env.PATH ?? ""): string | undefined {
  if (name.includes("/")) return path.resolve(name);
  for (const dir of envPath.split(":")) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      const st = statSync(p);
      if (st.isFile() && st.mode & 0o111) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

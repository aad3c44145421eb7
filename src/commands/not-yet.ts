import { ToolError } from "../errors.js";
import type { CommandSpec } from "./types.js";

/** Placeholder for a command whose issue is still open. */
export function notYet(name: string, summary: string): CommandSpec {
  return {
    name,
    summary,
    help: `imagekeeper ${name}: ${summary}\n(not implemented yet)`,
    options: {},
    positionals: true,
    async run() {
      throw new ToolError(`imagekeeper ${name} is not implemented yet`);
    },
  };
}

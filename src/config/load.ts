// Finding and reading the config file: --config FILE, else $IMAGEKEEPER_CONFIG, else
// /etc/imagekeeper/config.json when it exists, else defaults. Environment variables for the two
// directories beat the file (a test or a unit can move them without writing a config).
import { readFileSync } from "node:fs";
import type { z } from "zod";
import { InputError } from "../errors.js";
import { type Config, CRON_HINT, configSchema } from "./schema.js";

export const SYSTEM_CONFIG = "/etc/imagekeeper/config.json";

export interface ConfigSource {
  path: string | undefined;
  config: Config;
}

function describeIssues(err: z.ZodError): string {
  return err.issues
    .map((i) => {
      const where = i.path.length ? i.path.join(".") : "(top level)";
      return `${where}: ${i.message}`;
    })
    .join("; ");
}

export function parseConfig(raw: unknown, file: string | undefined): Config {
  const r = configSchema.safeParse(raw);
  if (!r.success) {
    throw new InputError(
      "config",
      `the config ${file ? `file ${file}` : ""} is invalid: ${describeIssues(r.error)}`,
      {
        ...(file ? { file } : {}),
        hint: "Fix or remove the named keys; `imagekeeper config check --config FILE` validates a file, and docs/operations.md lists every key.",
      },
    );
  }
  return r.data;
}

export async function loadConfig(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  exists: (p: string) => boolean = fileExists,
): Promise<ConfigSource> {
  const path = explicit ?? env.IMAGEKEEPER_CONFIG ?? (exists(SYSTEM_CONFIG) ? SYSTEM_CONFIG : undefined);
  let raw: unknown = {};
  if (path !== undefined) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new InputError("config", `cannot read the config file ${path}: ${(e as Error).message}`, {
        file: path,
        hint: "Pass an existing file with --config, or unset IMAGEKEEPER_CONFIG.",
      });
    }
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new InputError("config", `the config file ${path} is not valid JSON: ${(e as Error).message}`, {
        file: path,
        hint: 'Write the config as a JSON object, e.g. {"prune": {"highWatermarkPercent": 85}}.',
      });
    }
  }
  const config = parseConfig(raw, path);
  if (config.prune.window !== null) await checkCron(config.prune.window, path);
  if (env.IMAGEKEEPER_STATE_DIR) config.stateDir = env.IMAGEKEEPER_STATE_DIR;
  if (env.IMAGEKEEPER_RUN_DIR) config.runDir = env.IMAGEKEEPER_RUN_DIR;
  if (env.IMAGEKEEPER_DOCKER) config.docker = env.IMAGEKEEPER_DOCKER;
  return { path, config };
}

/** Exported for its unit test: the default of loadConfig's `exists`. */
export function fileExists(p: string): boolean {
  try {
    readFileSync(p);
    return true;
  } catch {
    return false;
  }
}

async function checkCron(expr: string, file: string | undefined): Promise<void> {
  const { CronExpressionParser } = await import("cron-parser");
  try {
    CronExpressionParser.parse(expr);
  } catch (e) {
    // Stryker disable next-line StringLiteral: unreachable "" (a window is only ever read from a file)
    const where = file ? `in ${file} ` : "";
    throw new InputError(
      "config",
      `prune.window "${expr}" ${where}is not a cron expression: ${(e as Error).message}`,
      {
        ...(file ? { file } : {}),
        hint: `Fix prune.window: ${CRON_HINT}.`,
      },
    );
  }
}

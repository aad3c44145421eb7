// The CLI entry: parse argv, load config, dispatch to a command, and map its Outcome or error to
// an exit code. This is the only place that decides exit codes and prints errors:
//   0 ok · 1 a command's own failure (an image failed to pull) · 2 bad input (usage, env, compose,
//   config, reference), nothing done · 3 Docker daemon unreachable · 4 lease wait timed out ·
//   70 internal error · 130/143 interrupted by SIGINT/SIGTERM · `run` passes its child's status.
import { parseArgs } from "node:util";
import type { CommandEntry } from "./commands/index.js";
import { COMMANDS, VERSION } from "./commands/index.js";
import type { Outcome } from "./commands/types.js";
import { loadConfig } from "./config/load.js";
import {
  DaemonUnavailableError,
  InputError,
  InterruptedError,
  LeaseTimeoutError,
  ToolError,
} from "./errors.js";
import { initLogger, logger } from "./log.js";

export const EXIT = { ok: 0, failed: 1, input: 2, daemon: 3, leaseTimeout: 4, internal: 70 } as const;

const GLOBAL_HELP = `imagekeeper ${VERSION}: keep a CI host's Docker images warm, pulled early and pruned safely.

Usage: imagekeeper <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(16)} ${c.summary}`).join("\n")}

Global options:
  --config FILE      config file (else $IMAGEKEEPER_CONFIG, else /etc/imagekeeper/config.json)
  --log-level LEVEL  trace|debug|info|warn|error (else $IMAGEKEEPER_LOG_LEVEL, else the config's)
  --help, --version

Docs: docs/prepull.md, docs/prune.md, docs/operations.md, docs/nixos.md.`;

const GLOBAL_OPTIONS = {
  config: { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function findCommand(argv: string[]): { entry: CommandEntry; rest: string[] } | undefined {
  const two = argv.slice(0, 2).join(" ");
  const byTwo = COMMANDS.find((c) => c.name === two);
  if (byTwo) return { entry: byTwo, rest: argv.slice(2) };
  const byOne = COMMANDS.find((c) => c.name === argv[0]);
  return byOne ? { entry: byOne, rest: argv.slice(1) } : undefined;
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const wantsJson = argv.includes("--json");
  try {
    return await dispatch(argv, io);
  } catch (e) {
    return reportError(e, io, wantsJson);
  }
}

async function dispatch(argv: string[], io: Io): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    io.out(`${GLOBAL_HELP}\n`);
    return argv.length === 0 ? EXIT.input : EXIT.ok;
  }
  if (argv[0] === "--version" || argv[0] === "-V" || argv[0] === "version") {
    io.out(`${VERSION}\n`);
    return EXIT.ok;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
    const hint = group.length
      ? `Use one of: ${group.map((c) => `imagekeeper ${c.name}`).join(", ")}.`
      : "Run imagekeeper --help for the list of commands.";
    throw new InputError("usage", `unknown command "${argv.slice(0, group.length ? 2 : 1).join(" ")}"`, {
      hint,
    });
  }
  const { rest } = found;
  const spec = await found.entry.load();
  // `run -- CMD…`: everything after `--` belongs to the child, untouched.
  const dd = rest.indexOf("--");
  const own = dd >= 0 ? rest.slice(0, dd) : rest;
  const childArgv = dd >= 0 ? rest.slice(dd + 1) : [];
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: own,
      options: { ...GLOBAL_OPTIONS, ...spec.options },
      allowPositionals: spec.positionals ?? false,
      strict: true,
    });
  } catch (e) {
    throw new InputError("usage", `imagekeeper ${spec.name}: ${(e as Error).message}`, {
      hint: `See imagekeeper ${spec.name} --help.`,
    });
  }
  const values = parsed.values as Record<string, string | boolean | (string | boolean)[] | undefined>;
  if (values.help) {
    io.out(`${spec.help}\n`);
    return EXIT.ok;
  }
  const { config, path } = await loadConfig(values.config as string | undefined);
  initLogger(
    (values["log-level"] as string | undefined) ?? process.env.IMAGEKEEPER_LOG_LEVEL ?? config.logLevel,
  );

  const ac = new AbortController();
  let caught: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (caught) process.exit(sig === "SIGINT" ? 130 : 143); // second signal: stop now
    caught = sig;
    logger().warn({ signal: sig }, "stopping: cancelling work in progress");
    ac.abort(new InterruptedError(sig));
  };
  if (!spec.ownsSignals) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  let outcome: Outcome;
  try {
    outcome = await spec.run(
      {
        config,
        configPath: path,
        signal: ac.signal,
        out: io.out,
        isTTY: Boolean(process.stdout.isTTY),
        env: process.env,
      },
      values,
      [...parsed.positionals, ...childArgv],
    );
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  if (caught) return caught === "SIGINT" ? 130 : 143;
  switch (outcome.kind) {
    case "ok":
      return EXIT.ok;
    case "failed":
      return EXIT.failed;
    case "child-exit":
      return outcome.code;
  }
}

export function reportError(e: unknown, io: Io, json: boolean): number {
  let code: number = EXIT.internal;
  let kind = "internal";
  let hint: string | undefined;
  let file: string | undefined;
  if (e instanceof InputError) {
    code = EXIT.input;
    kind = e.kind;
    hint = e.hint;
    file = e.file;
  } else if (e instanceof DaemonUnavailableError) {
    code = EXIT.daemon;
    kind = "daemon-unavailable";
    hint = e.hint;
  } else if (e instanceof LeaseTimeoutError) {
    code = EXIT.leaseTimeout;
    kind = "lease-timeout";
    hint = e.hint;
  } else if (e instanceof InterruptedError) {
    code = e.signal === "SIGINT" ? 130 : 143;
    kind = "interrupted";
  } else if (e instanceof ToolError) {
    kind = "tool";
    hint = e.hint;
  }
  const message = e instanceof Error ? e.message : String(e);
  if (json) {
    io.out(
      `${JSON.stringify({ ok: false, error: { kind, message, ...(file ? { file } : {}), ...(hint ? { hint } : {}) } })}\n`,
    );
  }
  // One paragraph: what went wrong (naming the file), then the fix. A stack only when debugging.
  io.err(`imagekeeper: ${message}${hint ? `\n  fix: ${hint}` : ""}\n`);
  if (code === EXIT.internal && process.env.IMAGEKEEPER_LOG_LEVEL === "debug" && e instanceof Error)
    io.err(`${e.stack}\n`);
  return code;
}

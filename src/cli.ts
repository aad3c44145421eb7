// The CLI entry: parse argv, load config, dispatch to a command, and map its Outcome or error to
// an exit code. This is the only place that decides exit codes and prints errors:
//   0 ok · 1 a command's own failure (an image failed to pull, a doctor check failed) · 2 bad
//   input (usage, env, compose, config, reference), nothing done · 3 Docker daemon unreachable ·
//   4 lease wait timed out · 70 internal error · 130/143 interrupted by SIGINT/SIGTERM · `run`
//   passes its child's status (126/127 when the child cannot be executed).
// Global options (--config, --log-level, --log-format, --quiet, --json, --help) are accepted before
// or after the command (src/commands/argv.ts).
import { parseArgs } from "node:util";
import { checkOptions, GLOBAL_OPTIONS, scanArgv } from "./commands/argv.js";
import { COMMANDS, type CommandEntry, findEntry, GROUPS, groupEntries, VERSION } from "./commands/index.js";
import type { CommandSpec, FlagValues, OptionSpecs, Outcome } from "./commands/types.js";
import { loadConfig } from "./config/load.js";
import { LOG_FORMATS, LOG_LEVELS } from "./config/schema.js";
import {
  CommandNotRunnableError,
  DaemonUnavailableError,
  InputError,
  InterruptedError,
  LeaseTimeoutError,
  ToolError,
} from "./errors.js";
import { commandHelp, groupHelp, topHelp } from "./help/render.js";
import { initLogger, type LogSettings, logger, settingsFromEnv } from "./log.js";
import { SYSLOG_PRIORITY } from "./ui/event-line.js";
import { terminalOf } from "./ui/terminal.js";
import { wrap } from "./ui/text.js";
import { didYouMean, suggest } from "./util/suggest.js";

export const EXIT = { ok: 0, failed: 1, input: 2, daemon: 3, leaseTimeout: 4, internal: 70 } as const;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

/** What the error report needs to know about the line, even when parsing it failed. */
interface Report {
  json: boolean;
  entry: CommandEntry | undefined;
  log: LogSettings;
}

export async function main(
  argv: string[],
  io: Io = defaultIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  // Only our own part of the line: after `--` everything is run's child's (which may say --json).
  const dd = argv.indexOf("--");
  const ours = dd >= 0 ? argv.slice(0, dd) : argv;
  const report: Report = { json: ours.includes("--json"), entry: undefined, log: settingsFromEnv(env) };
  try {
    return await dispatch(argv, io, env, report);
  } catch (e) {
    return reportFailure(e, io, report);
  }
}

const isGroup = (w: string) => w in GROUPS;
const topWords = () => [...new Set([...COMMANDS.map((c) => c.name.split(" ")[0]!), "help", "version"])];

function unknownCommand(words: string[]): InputError {
  const [first, second] = words;
  if (second !== undefined && isGroup(first!)) {
    const subs = groupEntries(first!).map((e) => e.name.slice(first!.length + 1));
    return new InputError(
      "usage",
      `unknown command "${first} ${second}".${didYouMean(suggest(second, subs).map((s) => `${first} ${s}`))}`,
      { hint: `The ${first} commands: ${subs.map((s) => `imagekeeper ${first} ${s}`).join(", ")}.` },
    );
  }
  return new InputError("usage", `unknown command "${first}".${didYouMean(suggest(first!, topWords()))}`, {
    hint: "Run imagekeeper --help for the list of commands.",
  });
}

/** parseArgs wants only type/multiple/short. */
function parseArgsOptions(options: OptionSpecs) {
  return Object.fromEntries(
    Object.entries(options).map(([n, o]) => [
      n,
      { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) },
    ]),
  );
}

function helpDocument(name: string, summary: string, text: string): string {
  return `${JSON.stringify({ command: name, summary, help: text })}\n`;
}

async function printHelp(topic: string[], io: Io, env: NodeJS.ProcessEnv, json: boolean): Promise<number> {
  if (topic.length === 0) {
    const text = topHelp(env);
    io.out(json ? helpDocument("", "", text) : `${text}\n`);
    return EXIT.ok;
  }
  const two = topic.slice(0, 2).join(" ");
  const entry = findEntry(two) ?? findEntry(topic[0]!);
  if (entry) {
    const spec = await entry.load();
    const text = commandHelp(spec, env);
    io.out(json ? helpDocument(spec.name, spec.summary, text) : `${text}\n`);
    return EXIT.ok;
  }
  if (isGroup(topic[0]!) && topic.length === 1) {
    const text = groupHelp(topic[0]!, env);
    io.out(json ? helpDocument(topic[0]!, GROUPS[topic[0]!] ?? "", text) : `${text}\n`);
    return EXIT.ok;
  }
  throw unknownCommand(topic);
}

function choice<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  what: string,
  kind: "usage" | "config",
): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new InputError(kind, `${what} "${value}" is not one of ${allowed.join(", ")}`, {
    hint: `Use one of: ${allowed.join(", ")}.`,
  });
}

async function dispatch(argv: string[], io: Io, env: NodeJS.ProcessEnv, report: Report): Promise<number> {
  const scanned = scanArgv(argv, isGroup);
  const g = scanned.globals;
  const json = g.json === true || report.json;
  const { words } = scanned;

  if (words[0] === "help") {
    const topic = scanned.rest.filter((w) => !w.startsWith("-"));
    return printHelp(topic, io, env, json || scanned.rest.includes("--json"));
  }
  if (words[0] === "version" || (words.length === 0 && g.version)) {
    io.out(json ? `${JSON.stringify({ version: VERSION })}\n` : `${VERSION}\n`);
    return EXIT.ok;
  }
  if (words.length === 0) {
    if (g.help) return printHelp([], io, env, json);
    if (argv.length === 0) {
      io.err(`${topHelp(env)}\n`);
      return EXIT.input;
    }
    throw new InputError("usage", "imagekeeper: no command given", {
      hint: "Name a command, e.g. imagekeeper status; imagekeeper --help lists them.",
    });
  }
  if (words.length === 1 && isGroup(words[0]!)) {
    const help = groupHelp(words[0]!, env);
    const asked = g.help === true || scanned.rest.includes("--help") || scanned.rest.includes("-h");
    if (asked) {
      io.out(json ? helpDocument(words[0]!, GROUPS[words[0]!] ?? "", help) : `${help}\n`);
      return EXIT.ok;
    }
    throw new InputError("usage", `imagekeeper ${words[0]}: which one?`, {
      hint: `Name one of: ${groupEntries(words[0]!)
        .map((e) => `imagekeeper ${e.name}`)
        .join(", ")}.`,
    });
  }
  const entry = findEntry(words.join(" "));
  if (!entry) throw unknownCommand(words);
  report.entry = entry;
  const spec = await entry.load();

  // `run -- CMD…`: everything after `--` belongs to the child, untouched.
  const { rest } = scanned;
  const dd = rest.indexOf("--");
  const own = dd >= 0 ? rest.slice(0, dd) : rest;
  const childArgv = dd >= 0 ? rest.slice(dd + 1) : [];
  const options: OptionSpecs = { ...GLOBAL_OPTIONS, ...spec.options };
  checkOptions(own, options, spec.name);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: own,
      options: parseArgsOptions(options),
      allowPositionals: spec.positionals !== undefined && spec.positionals !== false,
      strict: true,
    });
  } catch (e) {
    throw new InputError("usage", `imagekeeper ${spec.name}: ${(e as Error).message}`, {
      hint: `See imagekeeper ${spec.name} --help.`,
    });
  }
  const values: FlagValues = { ...g, ...(parsed.values as FlagValues) };
  report.json = values.json === true;
  if (values.help) {
    const text = commandHelp(spec, env);
    io.out(report.json ? helpDocument(spec.name, spec.summary, text) : `${text}\n`);
    return EXIT.ok;
  }
  if (values.version) {
    io.out(report.json ? `${JSON.stringify({ version: VERSION })}\n` : `${VERSION}\n`);
    return EXIT.ok;
  }

  const level = choice(values["log-level"] as string | undefined, LOG_LEVELS, "--log-level", "usage");
  const format = choice(values["log-format"] as string | undefined, LOG_FORMATS, "--log-format", "usage");
  const envFormat = choice(
    env.IMAGEKEEPER_LOG_FORMAT || undefined,
    LOG_FORMATS,
    "IMAGEKEEPER_LOG_FORMAT",
    "usage",
  );
  const envLevel = choice(
    env.IMAGEKEEPER_LOG_LEVEL || undefined,
    LOG_LEVELS,
    "IMAGEKEEPER_LOG_LEVEL",
    "usage",
  );
  const quiet = values.quiet === true;
  // Until the config is read, the line and the environment decide how an error is logged.
  report.log = { ...report.log, ...((format ?? envFormat) ? { format: (format ?? envFormat)! } : {}), quiet };
  const { config, path } = await loadConfig(values.config as string | undefined, env);
  report.log = {
    ...report.log,
    level: level ?? envLevel ?? config.logLevel,
    format: format ?? envFormat ?? config.logFormat,
  };
  initLogger(report.log);
  return execute(spec, entry, {
    config,
    path,
    values,
    positionals: [...parsed.positionals, ...childArgv],
    io,
    env,
    quiet,
  });
}

async function execute(
  spec: CommandSpec,
  entry: CommandEntry,
  a: {
    config: Awaited<ReturnType<typeof loadConfig>>["config"];
    path: string | undefined;
    values: FlagValues;
    positionals: string[];
    io: Io;
    env: NodeJS.ProcessEnv;
    quiet: boolean;
  },
): Promise<number> {
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
        config: a.config,
        configPath: a.path,
        signal: ac.signal,
        out: entry.stdoutIsChild ? a.io.err : a.io.out,
        err: a.io.err,
        isTTY: Boolean(process.stdout.isTTY),
        stdout: terminalOf(process.stdout, a.env),
        stderr: terminalOf(process.stderr, a.env),
        json: a.values.json === true,
        quiet: a.quiet,
        env: a.env,
      },
      a.values,
      a.positionals,
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

interface Classified {
  code: number;
  kind: string;
  hint: string | undefined;
  file: string | undefined;
}

function classify(e: unknown): Classified {
  if (e instanceof InputError) return { code: EXIT.input, kind: e.kind, hint: e.hint, file: e.file };
  if (e instanceof DaemonUnavailableError)
    return { code: EXIT.daemon, kind: "daemon-unavailable", hint: e.hint, file: undefined };
  if (e instanceof LeaseTimeoutError)
    return { code: EXIT.leaseTimeout, kind: "lease-timeout", hint: e.hint, file: undefined };
  if (e instanceof InterruptedError)
    return { code: e.signal === "SIGINT" ? 130 : 143, kind: "interrupted", hint: undefined, file: undefined };
  if (e instanceof CommandNotRunnableError)
    return {
      code: e.status,
      kind: e.status === 127 ? "command-not-found" : "command-not-executable",
      hint: e.hint,
      file: undefined,
    };
  if (e instanceof ToolError) return { code: EXIT.internal, kind: "tool", hint: e.hint, file: undefined };
  return { code: EXIT.internal, kind: "internal", hint: undefined, file: undefined };
}

/** An error before `main` parses anything (src/main.ts's launcher check): the same report. */
export function reportError(e: unknown, io: Io, json: boolean, env: NodeJS.ProcessEnv = process.env): number {
  return reportFailure(e, io, { json, entry: undefined, log: settingsFromEnv(env) });
}

function reportFailure(e: unknown, io: Io, r: Report): number {
  const { code, kind, hint, file } = classify(e);
  const message = e instanceof Error ? e.message : String(e);
  if (r.json) {
    const doc = `${JSON.stringify({ ok: false, exitCode: code, error: { kind, message, ...(file ? { file } : {}), ...(hint ? { hint } : {}) } })}\n`;
    // `run`'s stdout is its child's: our document goes to stderr (docs/operations.md).
    (r.entry?.stdoutIsChild ? io.err : io.out)(doc);
  }
  if (r.log.format === "json") {
    initLogger({ ...r.log, quiet: false });
    logger().error({ kind, exitCode: code, ...(file ? { file } : {}), ...(hint ? { hint } : {}) }, message);
  } else {
    // One paragraph: what went wrong (naming the file), then the fix.
    const width = r.log.terminal.columns;
    const lines = [
      ...wrap(message, width, {
        first: message.startsWith("imagekeeper ") ? "" : "imagekeeper: ",
        indent: "  ",
      }),
      ...(hint ? wrap(hint, width, { first: "  fix: ", indent: "       " }) : []),
    ];
    const pri = r.log.journal ? `<${SYSLOG_PRIORITY.error}>` : "";
    io.err(lines.map((l) => `${pri}${l}\n`).join(""));
  }
  // A stack only when debugging.
  if (code === EXIT.internal && r.log.level === "debug" && e instanceof Error) io.err(`${e.stack}\n`);
  return code;
}

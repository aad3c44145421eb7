// Reading the command line: global options may come before or after the command
// (`imagekeeper --config F prune` = `imagekeeper prune --config F`), the command is one word or a
// group and a word (`lease acquire`), and an unknown option is caught by name with a suggestion
// before Node's parseArgs sees it. Pure: test/unit/argv.test.ts.
import { LOG_FORMATS, LOG_LEVELS } from "../config/schema.js";
import { InputError } from "../errors.js";
import { didYouMean, suggest } from "../util/suggest.js";
import type { FlagValues, OptionSpecs } from "./types.js";

/** Accepted by every command, anywhere on the line (before `--`). */
export const GLOBAL_OPTIONS: OptionSpecs = {
  config: {
    type: "string",
    arg: "FILE",
    complete: "file",
    help: "the config file (else $IMAGEKEEPER_CONFIG, else /etc/imagekeeper/config.json if it exists)",
  },
  "log-level": {
    type: "string",
    arg: "LEVEL",
    complete: LOG_LEVELS,
    help: "trace, debug, info, warn or error (else $IMAGEKEEPER_LOG_LEVEL, else config logLevel, else info)",
  },
  "log-format": {
    type: "string",
    arg: "FORMAT",
    complete: LOG_FORMATS,
    help: "human (one readable line per event, the default) or json (else $IMAGEKEEPER_LOG_FORMAT, config logFormat)",
  },
  quiet: {
    type: "boolean",
    short: "q",
    help: "warnings and errors only: no progress or summary lines on stderr",
  },
  json: { type: "boolean", help: "print one JSON document (the result, or the error) instead of text" },
  help: { type: "boolean", short: "h", help: "show the help of the command (or of imagekeeper)" },
  version: { type: "boolean", short: "V", help: "print the version" },
};

export interface Scanned {
  /** Global options given before the command words. */
  globals: FlagValues;
  /** The command words: [], ["prune"], ["lease", "acquire"], ["help", …] is ["help"]. */
  words: string[];
  /** What follows the command words: its options, globals again, `--` and a child's argv. */
  rest: string[];
}

interface OptionToken {
  name: string;
  /** The value after `=`, if any. */
  inline: string | undefined;
  long: boolean;
}

function optionToken(t: string): OptionToken | undefined {
  if (t.length < 2 || t[0] !== "-" || t === "--") return undefined;
  if (t.startsWith("--")) {
    const eq = t.indexOf("=");
    return eq < 0
      ? { name: t.slice(2), inline: undefined, long: true }
      : { name: t.slice(2, eq), inline: t.slice(eq + 1), long: true };
  }
  return { name: t.slice(1), inline: undefined, long: false };
}

function byShort(options: OptionSpecs, s: string): string | undefined {
  return Object.entries(options).find(([, o]) => o.short === s)?.[0];
}

function unknownOption(token: OptionToken, options: OptionSpecs, where: string, hint: string): InputError {
  const shown = `${token.long ? "--" : "-"}${token.name}`;
  const names = Object.entries(options)
    .filter(([, o]) => !o.hidden)
    .map(([n]) => n);
  const close = token.long ? suggest(token.name, names).map((n) => `--${n}`) : [];
  return new InputError("usage", `${where}: unknown option ${shown}.${didYouMean(close)}`, { hint });
}

/** Split argv into the globals before the command, the command words and the rest. */
export function scanArgv(argv: readonly string[], isGroup: (word: string) => boolean): Scanned {
  const globals: FlagValues = {};
  const words: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const t = argv[i]!;
    if (t === "--") break;
    const opt = optionToken(t);
    if (!opt) {
      words.push(t);
      if (words.length === 1 && isGroup(t)) continue;
      i++;
      break;
    }
    const name = opt.long ? opt.name : byShort(GLOBAL_OPTIONS, opt.name);
    const spec = name === undefined ? undefined : GLOBAL_OPTIONS[name];
    if (name === undefined || spec === undefined) {
      throw unknownOption(
        opt,
        GLOBAL_OPTIONS,
        "imagekeeper",
        words.length
          ? `Put the command's own options after the whole command name; see imagekeeper help ${words[0]}.`
          : "Only global options may come before the command; a command's own options go after it (imagekeeper help COMMAND).",
      );
    }
    if (spec.type === "boolean") {
      if (opt.inline !== undefined)
        throw new InputError("usage", `imagekeeper: --${name} takes no value`, {
          hint: `Write --${name} alone.`,
        });
      globals[name] = true;
      continue;
    }
    const value = opt.inline ?? argv[i + 1];
    if (value === undefined)
      throw new InputError("usage", `imagekeeper: --${name} needs a value`, {
        hint: `Write --${name} ${spec.arg ?? "VALUE"}.`,
      });
    if (opt.inline === undefined) i++;
    globals[name] = value;
  }
  return { globals, words, rest: argv.slice(i) };
}

/**
 * Throw a usage error for the first option in `args` (a command's own part of the line, before
 * `--`) that `options` does not declare, suggesting the closest ones.
 */
export function checkOptions(args: readonly string[], options: OptionSpecs, command: string): void {
  for (let i = 0; i < args.length; i++) {
    const opt = optionToken(args[i]!);
    if (!opt) continue;
    const name = opt.long ? opt.name : byShort(options, opt.name);
    const spec = name === undefined ? undefined : options[name];
    if (!spec)
      throw unknownOption(opt, options, `imagekeeper ${command}`, `See imagekeeper ${command} --help.`);
    if (spec.type === "string" && opt.inline === undefined) i++;
  }
}

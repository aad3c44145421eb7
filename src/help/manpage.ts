// imagekeeper(1), generated from the command tree: the global options from their definitions, and
// each command's section from its spec (summary, then its --help text verbatim, so the page says
// exactly what `imagekeeper CMD --help` says). No date in the page: the build is reproducible and
// CI checks that the committed dist/man/imagekeeper.1 equals a fresh one. man-pages(7), groff_man(7).
import { EXIT_STATUS } from "./render.js";
import type { CommandTree } from "./tree.js";

/**
 * Escape text for roff: backslashes, leading dots and quotes, hyphens that must stay minus signs,
 * and every non-ASCII character as a Unicode escape (groff and mandoc both read \[uXXXX]).
 */
export function roff(s: string): string {
  return s
    .replace(/\\/g, "\\e")
    .replace(/-/g, "\\-")
    .replace(/^([.'])/gm, "\\&$1")
    .replace(
      /[^\t\n\x20-\x7e]/gu,
      (ch) => `\\[u${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}]`,
    );
}

const ENVIRONMENT: [string, string][] = [
  ["IMAGEKEEPER_CONFIG", "the config file, when --config is not given"],
  ["IMAGEKEEPER_STATE_DIR", "overrides the config's stateDir (ledger, journal, last prune)"],
  ["IMAGEKEEPER_RUN_DIR", "overrides the config's runDir (run leases, the prune lock)"],
  ["IMAGEKEEPER_DOCKER", "overrides the config's docker (the docker client to run)"],
  ["IMAGEKEEPER_LOG_LEVEL", "log threshold, when --log-level is not given"],
  ["IMAGEKEEPER_LOG_FORMAT", "human or json, when --log-format is not given"],
  ["IMAGEKEEPER_DOC_DIR", "where the docs are installed; help texts name files there"],
  ["IMAGEKEEPER_CACHE_DIR", "where the compiled program is cached (else $XDG_CACHE_HOME/imagekeeper)"],
  ["DOCKER_HOST", "the daemon's socket (unix:// or tcp://), as the docker client reads it"],
  ["DOCKER_CONFIG", "the docker client's config directory (credentials for pulls)"],
  ["NO_COLOR", "when set and not empty, no colour on a terminal"],
  ["JOURNAL_STREAM", "set by systemd: when it names stderr, log lines carry syslog priorities"],
];

const FILES: [string, string][] = [
  ["/etc/imagekeeper/config.json", "the config file (JSON; imagekeeper config check validates it)"],
  ["/var/lib/imagekeeper/", "the state dir: ledger.json, journal.jsonl (history), last-prune.json, cache/"],
  ["/run/imagekeeper/", "the run dir: run leases and the prune lock"],
];

export function manPage(t: CommandTree): string {
  const L: string[] = [];
  L.push(`.\\" imagekeeper(1). Generated from the command definitions (scripts/build.mjs); do not edit.`);
  L.push(`.TH IMAGEKEEPER 1 "" "imagekeeper ${t.version}" "User Commands"`);
  L.push(".SH NAME");
  L.push("imagekeeper \\- keep a CI host's Docker images warm: pulled early, pruned safely");
  L.push(".SH SYNOPSIS");
  L.push(".B imagekeeper");
  L.push("[\\fIglobal options\\fR] \\fICOMMAND\\fR [\\fIoptions\\fR]");
  L.push(".SH DESCRIPTION");
  L.push(
    roff(
      "imagekeeper pulls a recipe's images before a deploy (prepull), failing fast with a classified error, and prunes images only under disk pressure, never while a CI run holds a run lease (run, lease acquire). Logs go to stderr, one readable line per event (JSON lines with --log-format json); results go to stdout (--json prints one JSON document).",
    ),
  );
  L.push(".SH GLOBAL OPTIONS");
  L.push(roff("Accepted by every command, before or after the command name."));
  for (const o of t.globalOptions) {
    L.push(".TP");
    const names = [...(o.short ? [`\\fB\\-${o.short}\\fR`] : []), `\\fB${roff(`--${o.name}`)}\\fR`].join(
      ", ",
    );
    L.push(`${names}${o.value ? ` \\fI${roff(o.arg)}\\fR` : ""}`);
    L.push(roff(o.help));
  }
  L.push(".SH COMMANDS");
  for (const c of t.commands) {
    L.push(`.SS "${roff(`imagekeeper ${c.name}`)}"`);
    L.push(`${roff(c.summary)}.`);
    L.push(".PP");
    L.push(".nf");
    L.push(".RS 2");
    L.push(roff(c.help.trimEnd()));
    L.push(".RE");
    L.push(".fi");
  }
  L.push(".SH EXIT STATUS");
  L.push(roff(`${EXIT_STATUS}. Each command's section lists the statuses it can return.`));
  L.push(".SH ENVIRONMENT");
  for (const [k, v] of ENVIRONMENT) {
    L.push(".TP");
    L.push(`.B ${k}`);
    L.push(roff(v));
  }
  L.push(".SH FILES");
  for (const [k, v] of FILES) {
    L.push(".TP");
    L.push(`.I ${roff(k)}`);
    L.push(roff(v));
  }
  L.push(".SH SEE ALSO");
  L.push(
    roff(
      "The documents named above as docs/*.md (operations.md, prepull.md, prune.md, leases.md, nixos.md) are installed in share/doc/imagekeeper beside this page's package, and are in the source tree under docs/. imagekeeper completion bash|zsh|fish prints the shell completions.",
    ),
  );
  return `${L.join("\n")}\n`;
}

// `imagekeeper doctor [--json]`: is this host set up for imagekeeper? One line per check (ok, warn
// or fail, and the fix); exit 1 when any fails. Facts in src/doctor/facts.ts, judgements in
// src/doctor/checks.ts. Reads only.
import { type CheckResult, runChecks } from "../doctor/checks.js";
import { gatherFacts } from "../doctor/facts.js";
import { paint } from "../ui/color.js";
import type { Terminal } from "../ui/terminal.js";
import { table } from "../ui/text.js";
import type { CommandSpec } from "./types.js";

const HELP = `Usage: imagekeeper doctor [--json]

Checks this host's set-up for imagekeeper, as the user running it (run it as the CI runner's user,
and as the prune service's), and prints one line per check: ok, warn or fail, and for the last two
the fix.

  config              the config file in effect (an invalid one is exit 2, before any check)
  docker client       found on PATH (config docker), its version, and that it has
                      \`docker stack config\` (docker CLI 23 or later)
  docker daemon       the Engine API answers /_ping and /info on DOCKER_HOST or the default socket
  socket access       this user may use the daemon's unix socket (its group, usually docker)
  run dir, state dir  exist, setgid and group-writable (3770 and 2775), and this user may write
  shared group        this user is in the group of the run dir (a group added since this login
                      is reported: log in again)
  flock, setpriv      util-linux's tools that run leases need, setpriv with --pdeathsig
  docker credentials  the docker client config ($DOCKER_CONFIG or ~/.docker): a credsStore or
                      credHelpers entry whose docker-credential-* helper is missing, a Docker Hub
                      entry in auths shadowed by a helper, no Docker Hub credential at all
  clock               the daemon's clock (/info SystemTime) against ours; a clock before 2025

Options:
  --json   print {ok, checks: [{id, title, status: ok|warn|fail, message, fix?}]}

Exit status:
  0        no check failed (warnings allowed)
  1        a check failed
  2        bad config or usage
  3        DOCKER_HOST names an endpoint imagekeeper cannot use (ssh://, TLS)
  70       an internal error
  130/143  interrupted by SIGINT/SIGTERM
See docs/operations.md.`;

export const doctorCommand: CommandSpec = {
  name: "doctor",
  summary: "check this host's set-up: docker, daemon access, dirs, groups, tools, credentials, clock",
  help: HELP,
  options: {},
  async run(ctx) {
    const checks = runChecks(await gatherFacts(ctx.config, ctx.configPath, ctx.env));
    const ok = !checks.some((c) => c.status === "fail");
    ctx.out(ctx.json ? `${JSON.stringify({ ok, checks })}\n` : renderChecks(checks, ctx.stdout));
    return ok ? { kind: "ok" } : { kind: "failed" };
  },
};

export function renderChecks(checks: readonly CheckResult[], term: Terminal): string {
  const c = paint(term);
  const mark = (s: CheckResult["status"]) =>
    s === "ok" ? c.green("ok  ") : s === "warn" ? c.yellow("warn") : c.bold(c.red("fail"));
  const lines = table({
    columns: [
      { header: "", cell: (r: CheckResult) => mark(r.status) },
      { header: "", cell: (r) => r.title },
      { header: "", cell: (r) => `${r.message}${r.fix ? ` — fix: ${r.fix}` : ""}` },
    ],
    rows: checks,
    width: term.columns,
    header: false,
    wrapLast: true,
    minLast: 30,
  });
  const n = (s: CheckResult["status"]) => checks.filter((x) => x.status === s).length;
  lines.push(`doctor: ${n("fail")} failed, ${n("warn")} warning${n("warn") === 1 ? "" : "s"}, ${n("ok")} ok`);
  return `${lines.join("\n")}\n`;
}

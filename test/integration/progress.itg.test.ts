// Pull progress end to end: the bundled CLI against a private dockerd pulling through a throttling,
// stalling proxy in front of a private registry. Without a terminal: a line per state change, the
// "still pulling" line at the interval, a stall said as such. In a real pseudo-terminal (util-linux
// `script`): the live block redrawn in place under the log lines, erased at the end, never mixed
// with them. --json and --quiet: no progress at all.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { prepullReportSchema } from "../../src/pull/report.js";
import { stripAnsi } from "../../src/ui/text.js";
import { cli, runProgram } from "../support/cli.js";
import { type FaultProxy, startProxy } from "../support/proxy.js";
import { type Daemon, pushImage, type Registry, startDaemon, startRegistry } from "../support/testbed.js";

const bin = inject("imagekeeperBin");
let reg: Registry;
let proxy: FaultProxy;
let d: Daemon;
let work: string;

const IMAGES = ["slow", "stall", "pty", "quiet", "json"] as const;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg.host);
  d = await startDaemon();
  await Promise.all(IMAGES.map((n) => pushImage(reg.host, `coop/${n}`, "1.0", { sizeBytes: 1_500_000 })));
  work = mkdtempSync(path.join(tmpdir(), "ikprog-"));
});

afterAll(async () => {
  await d?.stop();
  await proxy?.close();
  await reg?.stop();
});

beforeEach(() => proxy.reset());

const blobs = (_m: string, u: string) => u.includes("/blobs/sha256:");

function recipe(name: (typeof IMAGES)[number]) {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, "compose.yml"),
    `version: "3.8"\nservices:\n  app:\n    image: ${proxy.host}/coop/${name}:1.0\n`,
  );
  writeFileSync(path.join(dir, "app.env"), `TYPE=${name}\n`);
  const state = path.join(work, `state-${name}`);
  return {
    ref: `${proxy.host}/coop/${name}:1.0`,
    args: ["prepull", "--recipe", dir, "--env-file", path.join(dir, "app.env")],
    env: { ...d.env, IMAGEKEEPER_STATE_DIR: state, IMAGEKEEPER_RUN_DIR: state },
  };
}

describe("without a terminal (a CI log)", () => {
  it("a throttled pull: a line per state change, then 'still pulling' lines at the interval with growing bytes", async () => {
    const r = recipe("slow");
    // ~1.5 MB at 300 KB/s: about 5 s.
    proxy.rules.push({ match: blobs, action: { kind: "throttle", bytesPerSecond: 300_000 } });
    const res = await cli([...r.args, "--progress-interval", "1s", "--stall-after", "20s"], r.env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).not.toContain("\u001b[");
    const lines = res.stderr.trimEnd().split("\n");
    const ref = r.ref.replace(/[.]/g, "\\.");
    expect(lines.filter((l) => new RegExp(`info {2}pulling ${ref}$`).test(l))).toHaveLength(1);
    expect(lines.filter((l) => new RegExp(`info {2}${ref}: downloading$`).test(l))).toHaveLength(1);
    const still = lines.flatMap((l) => {
      const m = new RegExp(`info {2}still pulling ${ref}: ([\\d.]+)/([\\d.]+) MB, (\\d+)s$`).exec(l);
      return m ? [{ done: Number(m[1]), total: Number(m[2]), secs: Number(m[3]) }] : [];
    });
    expect(still.length, res.stderr).toBeGreaterThanOrEqual(2);
    // Bytes and elapsed never go back; the bytes moved between the first and the last line.
    for (let i = 1; i < still.length; i++) {
      expect(still[i]!.done).toBeGreaterThanOrEqual(still[i - 1]!.done);
      expect(still[i]!.secs).toBeGreaterThanOrEqual(still[i - 1]!.secs);
    }
    expect(still.at(-1)!.done).toBeGreaterThan(still[0]!.done);
    expect(res.stderr).not.toContain("stalled");
    // The result line comes after every progress line about the image.
    const result = lines.findIndex((l) => /info {2}image pulled {2}ref=/.test(l));
    expect(result).toBeGreaterThan(lines.findLastIndex((l) => l.includes("still pulling")));
  });

  it("a stalled blob: 'stalled: no bytes for …' as a warning, then the deadline fails the pull", async () => {
    const r = recipe("stall");
    proxy.rules.push({ match: blobs, action: { kind: "stall" } });
    const res = await cli(
      [...r.args, "--stall-after", "2s", "--progress-interval", "30s", "--timeout", "8s", "--retries", "1"],
      r.env,
    );
    expect(res.code).toBe(1);
    const ref = r.ref.replace(/[.]/g, "\\.");
    const stalled = res.stderr
      .split("\n")
      .filter((l) => new RegExp(`warn {2}${ref}: stalled: no bytes for \\d+s$`).test(l));
    expect(stalled, res.stderr).toHaveLength(1);
    expect(Number(/for (\d+)s$/.exec(stalled[0]!)![1])).toBeGreaterThanOrEqual(2);
    expect(res.stderr).toMatch(/error image failed {2}ref=\S+ .*errorClass=timeout/);
  });

  it("--quiet and --json: no progress lines on stderr", async () => {
    proxy.rules.push({ match: blobs, action: { kind: "throttle", bytesPerSecond: 600_000 } });
    const q = recipe("quiet");
    const quiet = await cli([...q.args, "--quiet", "--progress-interval", "1s"], q.env);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
    const j = recipe("json");
    const json = await cli([...j.args, "--json", "--progress-interval", "1s"], j.env);
    expect(json.code).toBe(0);
    expect(prepullReportSchema.parse(JSON.parse(json.stdout)).images[0]!.action).toBe("pulled");
    expect(json.stderr).not.toMatch(/pulling|downloading/);
  });
});

/** Replay what a terminal shows: lines, carriage returns, cursor up (CSI n A), erase below (CSI J). */
function screen(raw: string): string[] {
  const rows: string[] = [""];
  let y = 0;
  // eslint-disable-next-line no-control-regex
  const tokens = raw.split(/(\u001b\[\d*A|\u001b\[J|\r|\n)/);
  for (const t of tokens) {
    if (t === "\n") {
      y++;
      if (rows.length <= y) rows.push("");
    } else if (t === "\r")
      continue; // every line here is written whole from column 0
    else if (t === "\u001b[J") {
      rows.splice(y + 1);
      rows[y] = "";
    } else if (t.startsWith("\u001b[") && t.endsWith("A"))
      y = Math.max(0, y - Number(/\d+/.exec(t)?.[0] ?? 1));
    else rows[y] = (rows[y] ?? "") + stripAnsi(t);
  }
  return rows;
}

describe("in a real terminal (a pseudo-terminal from util-linux script)", () => {
  it("a live block of the pulls in flight, redrawn in place, logs above it, erased at the end", async () => {
    const r = recipe("pty");
    proxy.rules.push({ match: blobs, action: { kind: "throttle", bytesPerSecond: 300_000 } });
    const quoted = [process.execPath, "--", bin, ...r.args].map((a) => `'${a}'`).join(" ");
    // Asynchronous: the throttling proxy runs in this process.
    const res = await runProgram("script", ["-qfec", `stty cols 80 rows 40; exec ${quoted}`, "/dev/null"], {
      env: { ...process.env, ...r.env, IMAGEKEEPER_LOG_LEVEL: "info", TERM: "xterm" },
    });
    expect(res.code).toBe(0);
    const raw = res.stdout.replace(/\r\n/g, "\n");
    // Drawn more than once, in place.
    const draws = raw.split("\u001b[J").length - 1;
    expect(draws, raw).toBeGreaterThanOrEqual(3);
    const blocks = [
      ...stripAnsi(raw).matchAll(/pulling 0\/1 done, 1 in flight(?: +([\d.]+)\/([\d.]+) MB)?/g),
    ];
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    expect(raw).toMatch(/\n {2}\S+coop\/pty:1\.0 +(downloading|resolving|extracting)/);
    // What stays on the screen: the result and the summary, no block, no line longer than 80.
    const final = screen(raw).filter((l) => l !== "");
    expect(final.join("\n")).not.toContain("in flight");
    expect(final.some((l) => /^\+ pulled +\S+coop\/pty:1\.0/.test(l))).toBe(true);
    expect(final.at(-1)).toMatch(/^prepull .*: 1 image, 0 present, 1 pulled, 0 failed in .*: ok$/);
    for (const l of final) expect(l.length).toBeLessThanOrEqual(80);
  });
});

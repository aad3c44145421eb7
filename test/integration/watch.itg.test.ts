// `imagekeeper watch` end to end: the bundled CLI following a private dockerd's events. It records
// uses for a `docker run` and a `docker stack deploy` made without any prepull, survives a dockerd
// restart (stopped by PID, started again on the same data root and socket) without losing the events
// in between, resumes after its own restart from its saved position, exits 0 on SIGTERM with what
// was pending written, and its ledger is what prune then reads.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statusSchema } from "../../src/commands/status.js";
import { pruneResultSchema } from "../../src/prune/report.js";
import { type Ledger, readLedger } from "../../src/state/ledger.js";
import { readWatchState } from "../../src/watch/state.js";
import { bin, cli } from "../support/cli.js";
import {
  type Daemon,
  DOCKER_CLI,
  type PushedImage,
  pushImage,
  type Registry,
  startDaemon,
  startRegistry,
  tempDir,
  waitFor,
} from "../support/testbed.js";

let reg: Registry;
let d: Daemon;
let root: string;
let state: string;
let textfile: string;
const img: Record<string, PushedImage> = {};
const started: ChildProcess[] = [];

const env = () => ({
  ...d.env,
  IMAGEKEEPER_STATE_DIR: state,
  IMAGEKEEPER_RUN_DIR: path.join(root, "run"),
  IMAGEKEEPER_CONFIG: path.join(root, "config.json"),
  IMAGEKEEPER_DOCKER: DOCKER_CLI,
});

interface Watch {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}

function startWatch(args: string[] = ["--flush-interval", "300ms", "--metrics-interval", "500ms"]): Watch {
  const child = spawn(process.execPath, [bin(), "watch", ...args], {
    // JSON log lines: the checks below read fields of them.
    env: { ...process.env, IMAGEKEEPER_LOG_LEVEL: "info", IMAGEKEEPER_LOG_FORMAT: "json", ...env() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let err = "";
  child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  child.stdout!.resume();
  const exit = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  return { child, stderr: () => err, exit };
}

const ledger = (): Ledger => readLedger(state).ledger;
const count = (text: string, re: RegExp) => text.split("\n").filter((l) => re.test(l)).length;

async function until(what: string, check: () => boolean, timeoutMs = 60_000) {
  await waitFor(what, async () => check(), timeoutMs);
}

beforeAll(async () => {
  reg = await startRegistry();
  d = await startDaemon();
  root = tempDir("ikwatch");
  state = path.join(root, "state");
  textfile = path.join(root, "metrics", "imagekeeper.prom");
  writeFileSync(path.join(root, "config.json"), JSON.stringify({ metrics: { textfile } }));
  await d.swarmInit();
  for (const name of ["run", "stack", "gap", "away", "unused", "doomed", "last"])
    img[name] = await pushImage(reg.host, `w/${name}`, "1", { sizeBytes: 100_000 });
}, 180_000);

afterAll(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await d?.stop();
  await reg?.stop();
});

describe("imagekeeper watch", () => {
  let w: Watch;

  it("records uses of a docker run and a stack deploy made without prepull", async () => {
    w = startWatch();
    await until("watch to follow", () => w.stderr().includes("following the Docker daemon's events"));
    const a = img.run!;
    const b = img.stack!;
    d.docker(["pull", a.ref]);
    d.docker(["run", "--rm", "--network", "none", a.ref, "/bin/busybox", "true"]);
    writeFileSync(path.join(root, "stack.yml"), `version: "3.8"\nservices:\n  app:\n    image: ${b.ref}\n`);
    d.docker(["stack", "deploy", "--detach=true", "-c", path.join(root, "stack.yml"), "web_example_org"]);
    await until("the run's use and arrival", () => {
      const e = ledger().images[a.id];
      return e !== undefined && e.uses.length > 0 && e.arrived !== null;
    });
    await until("the stack's use", () => ledger().images[b.id]?.by.web_example_org !== undefined, 120_000);
    const ea = ledger().images[a.id]!;
    expect(ea.refs).toContain(a.ref);
    expect(ea.by).toEqual({});
    // The swarm task's use carries the stack (abra's STACK_NAME) as the app.
    const eb = ledger().images[b.id]!;
    expect(Object.keys(eb.by)).toEqual(["web_example_org"]);
    expect(eb.refs.some((r) => r.startsWith(b.ref))).toBe(true);

    const st = await cli(["status", "--json"], env());
    expect(st.code).toBe(0);
    const s = statusSchema.parse(JSON.parse(st.stdout));
    expect(s.watch.running).toBe(true);
    expect(s.watch.connected).toBe(true);
    expect(Date.parse(s.watch.lastEventAt!)).toBeGreaterThan(Date.now() - 120_000);
    await until("the metrics", () => {
      try {
        return /imagekeeper_watch_events_total\{action="start"\} [1-9]/.test(readFileSync(textfile, "utf8"));
      } catch {
        return false;
      }
    });
    expect(readFileSync(textfile, "utf8")).toMatch(/^imagekeeper_disk_usage_ratio 0\.\d+$/m);

    // One watch per state dir.
    const second = await cli(["watch"], env());
    expect(second.code).toBe(2);
    expect(second.stderr).toContain("another imagekeeper watch is running");
  });

  it("survives a dockerd restart and loses none of the events in between", async () => {
    const c = img.gap!;
    // Freeze watch first, so that it cannot reconnect before the events below: they then reach it
    // only by the replay from its saved position.
    w.child.kill("SIGSTOP");
    await d.restart();
    d.docker(["pull", c.ref]);
    // A --rm container: gone before watch can list anything, so only the replay can report it.
    d.docker(["run", "--rm", "--network", "none", c.ref, "/bin/busybox", "true"]);
    w.child.kill("SIGCONT");
    await until(
      "the use made while watch was cut off",
      () => (ledger().images[c.id]?.uses.length ?? 0) > 0,
      120_000,
    );
    expect(ledger().images[c.id]!.arrived).not.toBeNull();
    await until("the reconnect line", () => w.stderr().includes("reconnected to the Docker daemon"));
    // One warning per outage, not one per attempt.
    expect(count(w.stderr(), /lost the Docker daemon/)).toBe(1);
    expect(count(w.stderr(), /reconnected to the Docker daemon/)).toBe(1);

    // And a plain outage while watch runs: the daemon down for a few seconds, then back.
    await d.halt();
    await until("watch to notice", () => count(w.stderr(), /lost the Docker daemon/) === 2);
    await new Promise((r) => setTimeout(r, 4000));
    expect(count(w.stderr(), /lost the Docker daemon/)).toBe(2);
    await d.restart();
    await until("the second reconnect", () => count(w.stderr(), /reconnected to the Docker daemon/) === 2);
  }, 300_000);

  it("resumes after its own restart; SIGTERM writes what is pending and exits 0", async () => {
    w.child.kill("SIGTERM");
    expect(await w.exit).toBe(0);
    const saved = readWatchState(state).state!;
    expect(saved.connected).toBe(false);
    expect(saved.position).not.toBeNull();

    // While watch is away: a short-lived container (gone before anyone could list it), the delete
    // of an image the ledger knows, and an image pulled and deleted again.
    const e = img.away!;
    const doomed = img.doomed!;
    expect(ledger().images[img.run!.id]!.gone).toBeNull();
    d.docker(["pull", e.ref]);
    d.docker(["run", "--rm", "--network", "none", e.ref, "/bin/busybox", "true"]);
    d.docker(["image", "rm", img.run!.ref]);
    d.docker(["pull", doomed.ref]);
    d.docker(["image", "rm", doomed.ref]);
    d.docker(["pull", img.unused!.ref]);

    w = startWatch();
    await until("the events made while away", () => (ledger().images[e.id]?.uses.length ?? 0) > 0);
    expect(ledger().images[e.id]!.arrived).not.toBeNull();
    expect(ledger().images[img.run!.id]!.gone).not.toBeNull();
    // Pulled and deleted before watch could look it up: nothing to record (docs/watch.md).
    expect(ledger().images[doomed.id]).toBeUndefined();
    w.child.kill("SIGTERM");
    expect(await w.exit).toBe(0);

    // A flush interval of an hour: only the flush on SIGTERM can write the last event.
    w = startWatch(["--flush-interval", "1h", "--log-level", "debug"]);
    await until("watch to follow", () => w.stderr().includes("following the Docker daemon's events"));
    const last = img.last!;
    d.docker(["pull", last.ref]);
    const cidfile = path.join(root, "last.cid");
    d.docker(["run", "--rm", "--cidfile", cidfile, "--network", "none", last.ref, "/bin/busybox", "true"]);
    const cid = readFileSync(cidfile, "utf8").trim();
    // Received (watch logs each event at debug level), not yet written (an hour's interval).
    await until("watch to receive the last start", () =>
      w
        .stderr()
        .split("\n")
        .some((l) => l.includes('"container start"') && l.includes(cid)),
    );
    expect(ledger().images[last.id]?.uses.length ?? 0).toBe(0);
    w.child.kill("SIGTERM");
    expect(await w.exit).toBe(0);
    expect(ledger().images[last.id]!.uses.length).toBeGreaterThan(0);
    expect(w.stderr()).toContain("stopping; writing the events pending");

    const st = statusSchema.parse(JSON.parse((await cli(["status", "--json"], env())).stdout));
    expect(st.watch.running).toBe(false);
    expect(st.watch.lastEventAt).not.toBeNull();
  }, 300_000);

  it("is what prune reads: a use seen by watch is the image's last use", async () => {
    // 97%: above the default high watermark (95%), so the plan ranks every image.
    const r = await cli(["prune", "--dry-run", "--json", "--assume-usage", "97"], env());
    expect(r.code).toBe(0);
    const plan = pruneResultSchema.parse(JSON.parse(r.stdout));
    const reasonOf = (id: string) => [...plan.kept, ...plan.removed].find((x) => x.id === id)?.reason ?? "";
    // Used (by docker run) after its pull, seen by watch only: its last use is the ledger's, and a
    // use is no protection (prune.minAge protects arrivals not used since): the order ranks it.
    expect(reasonOf(img.away!.id)).toMatch(/last used [\dhms.]+ ago \(ledger\)$/);
    expect(reasonOf(img.away!.id)).not.toMatch(/^too-young/);
    expect(reasonOf(img.last!.id)).toMatch(/last used [\dhms.]+ ago \(ledger\)$/);
    // Pulled while watch was away and never used: an arrival (watch replayed the pull), young.
    expect(reasonOf(img.unused!.id)).toMatch(
      /^too-young: pulled, tagged or built [\dhms.]+ ago and not used since/,
    );
    // A plain real prune without pressure, then the same what-if without --dry-run: refused.
    const bad = await cli(["prune", "--assume-usage", "97"], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--assume-usage is a what-if and needs --dry-run");
  });
});

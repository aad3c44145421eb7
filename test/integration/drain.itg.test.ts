// The drain (src/lease/drain.ts) end to end: the bundled CLI's runs (`imagekeeper run`, `lease
// acquire`) against gap prunes, each a real process with real flock(2) locks (the gap prunes run
// the library's drainAndLock in test/support/drain-actor.ts: the prune between its enter and exit
// lines stands in for the removals). No Docker: prune.beforeRuns is off for the runs themselves, so
// only the drain is under test. Scenarios first, then a seeded random race.
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { liveDrainRecord } from "../../src/lease/drain.js";
import { listLeases, tryExclusive } from "../../src/lease/lease.js";
import { bundleScript } from "../support/bundle.js";
import { rng, seedFrom } from "../support/random.js";

const bin = inject("imagekeeperBin");
const root = mkdtempSync(path.join(tmpdir(), "ikdrain-"));
const configFile = path.join(root, "config.json");
writeFileSync(configFile, JSON.stringify({ prune: { beforeRuns: false }, lease: { wait: "60s" } }));
const actor = path.join(root, "drain-actor.mjs");

interface Proc {
  child: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

const started: ChildProcess[] = [];
function spawnNode(args: string[], runDir: string, extraEnv: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      IMAGEKEEPER_RUN_DIR: runDir,
      IMAGEKEEPER_STATE_DIR: path.join(root, "state"),
      IMAGEKEEPER_CONFIG: configFile,
      IMAGEKEEPER_LOG_LEVEL: "info",
      // JSON log lines: the race reads waitedMs and pid from them.
      IMAGEKEEPER_LOG_FORMAT: "json",
      IMAGEKEEPER_LEASE: "",
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  const done = new Promise<Awaited<Proc["done"]>>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout: out, stderr: err })),
  );
  return { child, pid: child.pid!, stdout: () => out, stderr: () => err, done };
}

/** `imagekeeper run` whose command logs E/X lines to `log` around `body` (a shell snippet). */
function run(runDir: string, log: string, name: string, body: string, args: string[] = []): Proc {
  const sh = `echo "E R ${name}" >> "${log}"; ${body}; echo "X R ${name}" >> "${log}"`;
  return spawnNode([bin, "run", ...args, "--", "sh", "-c", sh], runDir);
}

function gap(runDir: string, log: string, name: string, gapWaitMs: number, holdMs: number): Proc {
  return spawnNode([actor, "gap", runDir, log, name, String(gapWaitMs), String(holdMs)], runDir);
}

const result = (p: { stdout: string }) => JSON.parse(p.stdout.trim()) as { result: string; waitedMs: number };
const lines = (log: string) => readFileSync(log, "utf8").split("\n").filter(Boolean);

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let n = 0;
const fresh = () => {
  n++;
  const log = path.join(root, `log${n}`);
  writeFileSync(log, "");
  return { rd: path.join(root, `run${n}`), log, flag: path.join(root, `go${n}`) };
};
const draining = async (rd: string) => (await liveDrainRecord(rd)) !== undefined;

beforeAll(async () => {
  copyFileSync(await bundleScript(path.join(import.meta.dirname, "../support/drain-actor.ts")), actor);
});

afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

describe("the drain", () => {
  it("a run arriving during a drain waits behind the prune and says so", async () => {
    const { rd, log, flag } = fresh();
    const a = run(rd, log, "a", `while [ ! -e "${flag}" ]; do sleep 0.02; done`);
    await until("run a's lease", async () => (await listLeases(rd)).length === 1);
    const g = gap(rd, log, "p", 30_000, 300);
    await until("the drain", () => draining(rd));
    const b = run(rd, log, "b", "true");
    await until("run b to say it waits", () => b.stderr().includes("this run waits behind it, up to 1m0s"));
    // b waits, although only a shared lease stands between it and lease.lock.
    await new Promise((r) => setTimeout(r, 300));
    expect(lines(log)).toEqual(["E R a"]);
    writeFileSync(flag, "");
    expect((await a.done).code).toBe(0);
    expect(result(await g.done).result).toBe("ok");
    expect((await b.done).code).toBe(0);
    // The prune came between a and b: it neither overlapped a nor let b in first.
    expect(lines(log)).toEqual(["E R a", "X R a", "E P p", "X P p", "E R b", "X R b"]);
    expect(b.stderr()).toMatch(/the gap prune finished after/);
    // The drain's record is gone with it: the next run passes the gate without a lock.
    expect(readdirSync(rd).filter((f) => f.startsWith("drain.") && f.endsWith(".json"))).toEqual([]);
  });

  it("a run inside a lease never waits for a drain (the drain waits for that lease)", async () => {
    const { rd, log, flag } = fresh();
    const inner = `"${process.execPath}" "${bin}" run -- sh -c 'echo "E R inner" >> "${log}"; echo "X R inner" >> "${log}"'`;
    const outer = run(rd, log, "outer", `while [ ! -e "${flag}" ]; do sleep 0.02; done; ${inner}`);
    await until("the outer lease", async () => (await listLeases(rd)).length === 1);
    const g = gap(rd, log, "p", 30_000, 50);
    await until("the drain", () => draining(rd));
    writeFileSync(flag, "");
    const o = await outer.done;
    expect(o.code).toBe(0);
    const r = result(await g.done);
    // Had the nested run waited at the gate, outer, drain and nested would have waited for one
    // another until gapWait (30 s) ran out, and the drain would have given up.
    expect(r.result).toBe("ok");
    expect(r.waitedMs).toBeLessThan(25_000);
    expect(o.stderr).not.toContain("waits behind it");
    expect(lines(log)).toEqual(["E R outer", "E R inner", "X R inner", "X R outer", "E P p", "X P p"]);
  });

  it("a renewal never waits for a drain (which then waits for the renewed lease)", async () => {
    const { rd, log } = fresh();
    const acq = await spawnNode([bin, "lease", "acquire", "--id", "job-1", "--ttl", "2m"], rd).done;
    expect(acq.code).toBe(0);
    const g = gap(rd, log, "p", 60_000, 50);
    await until("the drain", () => draining(rd));
    const renew = await spawnNode([bin, "lease", "acquire", "--id", "job-1", "--ttl", "2m"], rd).done;
    expect(renew.code).toBe(0);
    expect(renew.stderr).not.toContain("waits behind it");
    expect(renew.stderr).toContain("lease renewed");
    // The renewal did not wait for the drain to end: the drain is still waiting, for job-1.
    expect(await draining(rd)).toBe(true);
    expect(lines(log)).toEqual([]);
    // Released: the drain gets in at once.
    expect((await spawnNode([bin, "lease", "release", "job-1"], rd).done).code).toBe(0);
    const r = result(await g.done);
    expect(r.result).toBe("ok");
    expect(lines(log)).toEqual(["E P p", "X P p"]);
  });

  it("a drain gives up after gapWait, removes nothing, and leaves nothing held", async () => {
    const { rd, log, flag } = fresh();
    const a = run(rd, log, "a", `while [ ! -e "${flag}" ]; do sleep 0.02; done`);
    await until("run a's lease", async () => (await listLeases(rd)).length === 1);
    const r = result(await gap(rd, log, "p", 1500, 50).done);
    expect(r.result).toBe("timeout");
    expect(r.waitedMs).toBeGreaterThanOrEqual(1500);
    expect(await draining(rd)).toBe(false);
    writeFileSync(flag, "");
    expect((await a.done).code).toBe(0);
    expect(lines(log)).toEqual(["E R a", "X R a"]);
    const ex = await tryExclusive(rd);
    expect(ex.ok).toBe(true);
    if (ex.ok) await ex.lock.release();
  });

  it("a run whose --wait runs out goes ahead of a drain that still waits for runs", async () => {
    const { rd, log, flag } = fresh();
    const a = run(rd, log, "a", `while [ ! -e "${flag}" ]; do sleep 0.02; done`);
    await until("run a's lease", async () => (await listLeases(rd)).length === 1);
    const g = gap(rd, log, "p", 30_000, 50);
    await until("the drain", () => draining(rd));
    const b = await run(rd, log, "b", "true", ["--wait", "1s"]).done;
    expect(b.code).toBe(0);
    expect(b.stderr).toContain("going ahead of it");
    writeFileSync(flag, "");
    await a.done;
    expect(result(await g.done).result).toBe("ok");
    expect(lines(log)).toEqual(["E R a", "E R b", "X R b", "X R a", "E P p", "X P p"]);
  });

  it("a SIGKILLed drainer leaves nothing behind: waiting runs go on at once", async () => {
    const { rd, log, flag } = fresh();
    const a = run(rd, log, "a", `while [ ! -e "${flag}" ]; do sleep 0.02; done`);
    await until("run a's lease", async () => (await listLeases(rd)).length === 1);
    const g = gap(rd, log, "p", 30_000, 50);
    await until("the drain", () => draining(rd));
    const b = run(rd, log, "b", "true");
    await until("run b to wait", () => b.stderr().includes("waits behind it"));
    g.child.kill("SIGKILL");
    expect((await b.done).code).toBe(0);
    writeFileSync(flag, "");
    await a.done;
    // Its record is left behind, stale (not held): the next look removes it, and runs take the
    // gate's fast path again.
    const records = () => readdirSync(rd).filter((f) => /^drain\.\d+\.json$/.test(f));
    expect(records()).toEqual([`drain.${g.pid}.json`]);
    expect(await draining(rd)).toBe(false);
    expect(records()).toEqual([]);
  });
});

// ---- the race: many runs and gap prunes, some SIGKILLed ----

/** Overlaps in the log: a prune entered while a run or another prune held, or a run entered during a prune. */
function overlaps(log: string[], killed: Set<string>): string[] {
  const runs = new Set<string>();
  const prunes = new Set<string>();
  const bad: string[] = [];
  log.forEach((line, i) => {
    const [op, kind, name] = line.split(" ") as [string, string, string];
    if (op === "K") {
      runs.delete(kind);
      prunes.delete(kind);
      return;
    }
    if (killed.has(name) && op === "X") return;
    if (op === "E" && kind === "P") {
      if (runs.size || prunes.size)
        bad.push(`line ${i + 1}: prune ${name} entered while ${[...runs, ...prunes]} held`);
      prunes.add(name);
    } else if (op === "E") {
      if (prunes.size) bad.push(`line ${i + 1}: run ${name} entered during prune ${[...prunes]}`);
      runs.add(name);
    } else (kind === "P" ? prunes : runs).delete(name);
  });
  return bad;
}

describe("runs and gap prunes racing", () => {
  it("the overlap check catches an overlap (self-check)", () => {
    expect(overlaps(["E R a", "E P p", "X P p", "X R a"], new Set())).toHaveLength(1);
    expect(overlaps(["E P p", "E R a", "X R a", "X P p"], new Set())).toHaveLength(1);
    expect(overlaps(["E R a", "X R a", "E P p", "X P p", "E R b"], new Set())).toEqual([]);
    expect(overlaps(["E P p", "K p", "E R a"], new Set(["p"]))).toEqual([]);
  });

  it("no prune while any lease is live, no deadlock, waits within their bounds", async () => {
    const seed = seedFrom("DRAIN_RACE_SEED");
    const rand = rng(seed);
    const { rd, log } = fresh();
    const RUNS = 60;
    const GAPS = 20;
    const GAP_WAIT = 8000;
    const MAX_LIVE = 6;
    const actors: { kind: "R" | "P" | "N"; name: string; kill: boolean }[] = [];
    for (let i = 0; i < RUNS; i++)
      actors.push({ kind: i % 10 === 9 ? "N" : "R", name: `r${i}`, kill: rand() < 0.05 });
    for (let i = 0; i < GAPS; i++) actors.push({ kind: "P", name: `p${i}`, kill: rand() < 0.1 });
    for (let i = actors.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [actors[i], actors[j]] = [actors[j]!, actors[i]!];
    }
    const stats = {
      runsOk: 0,
      runsWaited: 0,
      maxRunWaitMs: 0,
      gapOk: 0,
      gapTimeout: 0,
      gapKilled: 0,
      maxGapWaitMs: 0,
      killed: 0,
      nested: 0,
    };
    const failures: string[] = [];
    const killed = new Set<string>();
    const live = new Set<Promise<void>>();
    const t0 = Date.now();
    for (const a of actors) {
      while (live.size >= MAX_LIVE) await Promise.race(live);
      await new Promise((r) => setTimeout(r, rand() * 40));
      let p: Proc;
      const hold = (rand() * 0.25).toFixed(3);
      if (a.kind === "P") p = gap(rd, log, a.name, GAP_WAIT, Math.floor(rand() * 60));
      else if (a.kind === "R") p = run(rd, log, a.name, `sleep ${hold}`);
      else {
        // A run whose command starts a nested run: the nested one must not wait at the gate.
        const inner = `"${process.execPath}" "${bin}" run -- sh -c 'echo "E R ${a.name}i" >> "${log}"; sleep ${hold}; echo "X R ${a.name}i" >> "${log}"'`;
        p = run(rd, log, a.name, inner);
      }
      let timer: NodeJS.Timeout | undefined;
      if (a.kill)
        timer = setTimeout(
          () => {
            if (p.child.exitCode !== null || p.child.signalCode !== null) return;
            writeFileSync(log, `K ${a.name}\n`, { flag: "a" });
            killed.add(a.name);
            stats.killed++;
            if (a.kind === "P") stats.gapKilled++;
            process.kill(p.pid, "SIGKILL");
          },
          30 + rand() * 400,
        );
      const done = p.done.then((d) => {
        clearTimeout(timer);
        if (killed.has(a.name)) return;
        if (a.kind === "P") {
          const r = result(d);
          if (r.result === "ok") stats.gapOk++;
          else stats.gapTimeout++;
          stats.maxGapWaitMs = Math.max(stats.maxGapWaitMs, r.waitedMs);
          if (r.waitedMs > GAP_WAIT + 2000) failures.push(`gap ${a.name} waited ${r.waitedMs} ms`);
        } else {
          if (d.code === 0) stats.runsOk++;
          else failures.push(`run ${a.name} exited ${d.code}: ${d.stderr.slice(0, 300)}`);
          if (a.kind === "N") stats.nested++;
          for (const l of d.stderr.split("\n").filter((x) => x.includes("the gap prune finished after"))) {
            stats.runsWaited++;
            stats.maxRunWaitMs = Math.max(stats.maxRunWaitMs, JSON.parse(l).waitedMs as number);
          }
          // The nested run logs through the outer one's stderr, under its own pid: it must never
          // have waited at the gate (the outer run's lease is what a drain would wait for).
          if (a.kind === "N")
            for (const l of d.stderr.split("\n").filter((x) => x.includes("waits behind it")))
              if (JSON.parse(l).pid !== p.pid)
                failures.push(`the run nested in ${a.name} waited at the gate`);
        }
      });
      const tracked = done.finally(() => live.delete(tracked));
      live.add(tracked);
    }
    await Promise.all(live);
    const elapsedMs = Date.now() - t0;
    const bad = overlaps(lines(log), killed);
    const ctx = `seed ${seed} (rerun with DRAIN_RACE_SEED=${seed}); ${JSON.stringify(stats)}; ${elapsedMs} ms`;
    console.log(`drain race: ${ctx}`);
    expect(bad, ctx).toEqual([]);
    expect(failures, ctx).toEqual([]);
    // The drain works: with runs arriving all the time, gap prunes still get in (a timer prune
    // would defer whenever a lease is live), and runs did have to wait behind them.
    expect(stats.gapOk, ctx).toBeGreaterThanOrEqual((GAPS - stats.gapKilled) / 2);
    expect(stats.runsWaited, ctx).toBeGreaterThan(0);
    // Nothing is left that blocks either side.
    expect(await liveDrainRecord(rd)).toBeUndefined();
    expect(await listLeases(rd)).toEqual([]);
    const ex = await tryExclusive(rd);
    expect(ex.ok, ctx).toBe(true);
    if (ex.ok) await ex.lock.release();
  }, 420_000);
});

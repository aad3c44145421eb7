// `imagekeeper simulate` end to end: the freshly built bundle on a small trace file (the one
// docs/simulate.md uses), its --json document, its text table, and bad input. No daemon: the
// simulator models the host.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { simulateReportSchema } from "../../src/sim/compare.js";
import { parseTrace } from "../../src/sim/trace.js";
import { applyChange, emptyLedger } from "../../src/state/ledger.js";
import { cli } from "../support/cli.js";

const GiB = 1024 ** 3;
const TRACE = path.resolve("test/fixtures/sim/small.jsonl");
const dir = mkdtempSync(path.join(tmpdir(), "iksim-"));
// The default policy: an empty config file.
writeFileSync(path.join(dir, "config.json"), "{}");
const env = {
  IMAGEKEEPER_CONFIG: path.join(dir, "config.json"),
  IMAGEKEEPER_STATE_DIR: path.join(dir, "state"),
};

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("imagekeeper simulate", () => {
  it("--json: one result per capacity, with the reference, the ratio and the autoPrune baseline", async () => {
    const r = await cli(
      ["simulate", "--trace", TRACE, "--capacity", "20GiB", "--capacity", "40GiB", "--json"],
      env,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const report = simulateReportSchema.parse(JSON.parse(r.stdout));
    expect(report.trace).toMatchObject({ runs: 5, images: 6 });
    expect(report.results.map((x) => x.capacityBytes)).toEqual([20 * GiB, 40 * GiB]);
    const [small, big] = report.results;
    // 40 GiB holds all 28 GiB: each image pulled once, no prune, nothing re-pulled.
    expect(big).toMatchObject({ pulls: 6, repulledBytes: 0, overCapacityRuns: 0, ratio: 1, gapDrains: 0 });
    expect(big!.reference).toEqual({ pulls: 6, repulledBytes: 0, overCapacityRuns: 0 });
    // 20 GiB: the third run drains and prunes in the gap, nobody finds the disk over capacity.
    expect(small!.overCapacityRuns).toBe(0);
    expect(small!.gapDrains).toBeGreaterThan(0);
    expect(small!.prunes.pruned).toBeGreaterThan(0);
    expect(small!.delay.maxS).toBeGreaterThan(0);
    expect(small!.baselines.autoprune).toBeDefined();
    expect(Object.keys(small!.baselines)).toEqual(["autoprune"]);
  });

  it("prints a table by default; --baseline picks the baselines", async () => {
    const r = await cli(
      ["simulate", "--trace", TRACE, "--capacity", "20GiB", "--baseline", "lru", "--baseline", "oracle"],
      env,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^trace: 5 runs, 6 images/);
    expect(r.stdout).toMatch(/CAPACITY\s+OVER\s+PULLS\s+RE-PULLED\s+REFERENCE\s+RATIO/);
    expect(r.stdout).toMatch(/^20\.0 GiB\s+0\s/m);
    expect(r.stdout).toMatch(/lru .*; oracle /);
  });

  it("exit 2 on a bad trace line, naming the file and the line, with nothing on stdout but --json's error", async () => {
    const bad = path.join(dir, "bad.jsonl");
    const lines = readFileSync(TRACE, "utf8").split("\n");
    lines[2] = lines[2]!.replace('"durationS": 600', '"durationS": "ten minutes"');
    writeFileSync(bad, lines.join("\n"));
    const r = await cli(["simulate", "--trace", bad, "--capacity", "20GiB"], env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${bad}:3: "durationS"`);
    expect(r.stderr).toMatch(/fix: .*docs\/simulate\.md/);
    const j = await cli(["simulate", "--trace", bad, "--json"], env);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { kind: "usage", file: bad } });
  });

  it("exit 2 on bad flags: no trace, both sources, a bad size", async () => {
    for (const args of [[], ["--trace", TRACE, "--from-ledger"], ["--trace", TRACE, "--capacity", "big"]]) {
      const r = await cli(["simulate", ...args], env);
      expect(r.code).toBe(2);
    }
    expect((await cli(["simulate", "--help"], env)).stdout).toMatch(
      /Exit status:\n\s+0 .*\n\s+2\s+bad input.*\n\s+70\s+an internal error/,
    );
  });

  it("--from-ledger replays this host's ledger and can write the trace it reconstructed", async () => {
    const state = env.IMAGEKEEPER_STATE_DIR;
    const at = Date.UTC(2026, 0, 5, 2);
    let l = emptyLedger();
    // Three nights of two apps, as prepull records them (uses and need sets), and a prune's sightings.
    const need = (app: string, id: string, t: number) => ({
      at: t,
      app,
      role: "deploy",
      recipe: app.split("_")[0]!,
      version: null,
      versionSource: "pinned" as const,
      images: [{ ref: `${id}:1`, id: `sha256:${id}` }],
    });
    for (let d = 0; d < 3; d++) {
      const t = at + d * 86_400_000;
      for (const [app, id, dt] of [
        ["a_ci", "a", 0],
        ["b_ci", "b", 120_000],
      ] as const)
        l = applyChange(
          l,
          {
            uses: [
              { at: t + dt, id: `sha256:${id}`, ref: `${id}:1`, app, role: "deploy", source: "prepull" },
            ],
            needs: [need(app, id, t + dt)],
          },
          t + dt,
        );
      l = applyChange(
        l,
        {
          sighting: {
            at: t + 180_000,
            present: ["sha256:a", "sha256:b"],
            sizes: { "sha256:a": 3 * GiB, "sha256:b": 2 * GiB },
          },
        },
        t + 180_000,
      );
    }
    const { mkdirSync } = await import("node:fs");
    mkdirSync(state, { recursive: true });
    writeFileSync(path.join(state, "ledger.json"), JSON.stringify(l));
    const out = path.join(dir, "host.jsonl");
    const r = await cli(
      ["simulate", "--from-ledger", "--write-trace", out, "--capacity", "10GiB", "--json"],
      env,
    );
    expect(r.code).toBe(0);
    const report = simulateReportSchema.parse(JSON.parse(r.stdout));
    expect(report.trace.runs).toBe(6);
    expect(report.results[0]).toMatchObject({ pulls: 2, repulledBytes: 0 });
    const trace = parseTrace(readFileSync(out, "utf8"), out);
    expect(trace.map((x) => x.app)).toEqual(["a_ci", "b_ci", "a_ci", "b_ci", "a_ci", "b_ci"]);
  });
});

// The simulator on tiny hand-made traces whose outcome can be worked out by hand. Sizes are in
// bytes on a 1000-byte disk (high watermark 85% = 850, low 70% = 700), so pulls take no time at
// the default pull rate and every figure below is exact.
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { ratioOf } from "../../src/sim/compare.js";
import { beladyReference } from "../../src/sim/reference.js";
import { type SimOptions, simulate } from "../../src/sim/simulate.js";
import type { TraceImage, TraceRun } from "../../src/sim/trace.js";

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const MIN = 60_000;

const img = (name: string, sizeBytes: number, created = 0): TraceImage => ({
  ref: `reg.example/${name}:1`,
  id: `sha256:${name.padEnd(64, "0")}`,
  sizeBytes,
  created,
});

const run = (id: string, atMin: number, images: TraceImage[], durationMin = 10, app = id): TraceRun => ({
  t: T0 + atMin * MIN,
  run: id,
  app: `${app}.ci.example`,
  recipe: app,
  kind: "nightly",
  durationS: durationMin * 60,
  images,
});

const config = (prune: Record<string, unknown> = {}, lease: Record<string, unknown> = {}) =>
  configSchema.parse({
    prune: {
      minAge: "0s",
      highWatermarkPercent: 85,
      lowWatermarkPercent: 70,
      criticalWatermarkPercent: 95,
      minFree: null,
      maxFree: null,
      ...prune,
    },
    lease,
  });

const sim = (runs: TraceRun[], o: Partial<SimOptions> = {}) =>
  simulate(runs, { capacityBytes: 1000, config: config(), timerEveryMs: null, ...o });

const A = img("a", 600);
const B = img("b", 600);

describe("simulate: drains and gap prunes", () => {
  it("a run that needs room while another runs waits for the drain, then the prune makes room", async () => {
    // b arrives 1 minute into a's 10-minute run: 600 + 600 reaches the high watermark, so it
    // drains: it waits 9 minutes for a's lease to end, the prune removes a, then it pulls b.
    const r = await sim([run("a", 0, [A]), run("b", 1, [B])]);
    expect(r).toMatchObject({
      pulls: 2,
      repulledBytes: 0,
      peakBytes: 600,
      overCapacityRuns: 0,
      gapDrains: 1,
      gapGiveUps: 0,
      removals: 1,
      removedBytes: 600,
      prunes: { pruned: 1 },
      delay: { delayedRuns: 1, totalS: 9 * 60, maxS: 9 * 60 },
    });
  });

  it.each([
    ["9m: the live lease ends exactly in time", "9m", 0],
    ["one second less: gives up", "8m59s", 1],
  ])("prune.gapWait boundary, %s", async (_n, gapWait, giveUps) => {
    const r = await sim([run("a", 0, [A]), run("b", 1, [B])], { config: config({ gapWait }) });
    expect(r.gapGiveUps).toBe(giveUps);
  });

  it("a gap prune ignores a closed prune.window, as the host's does (the run needs the room now)", async () => {
    // The window opens at 03:00 for a minute; the trace runs at 10:00, far below critical (95%).
    const r = await sim([run("a", 0, [A]), run("b", 1, [B])], {
      config: config({ window: "0 3 * * *", windowDuration: "1m" }),
    });
    expect(r).toMatchObject({ gapDrains: 1, removals: 1, prunes: { pruned: 1 }, overCapacityRuns: 0 });
    expect(r.prunes["outside-window"]).toBeUndefined();
  });

  it("a run arriving during a drain waits behind it too", async () => {
    // c needs nothing new, but arrives at minute 3 while b's drain waits for a: it starts at 10.
    const C = img("c", 100);
    const r = await sim([run("a", 0, [A]), run("b", 1, [B]), run("c", 3, [C])]);
    expect(r.delay).toEqual({ delayedRuns: 2, totalS: 9 * 60 + 7 * 60, maxS: 9 * 60 });
    expect(r.overCapacityRuns).toBe(0);
  });

  it("when prune.gapWait runs out, no prune: the run proceeds and finds the disk over capacity", async () => {
    // b's prepull drains at minute 1, gives up at 3 (a runs until 10) and pulls: 1200 bytes. Its
    // run checks again before its lease (1200 is above high): drains, gives up at 5, starts.
    const r = await sim([run("a", 0, [A]), run("b", 1, [B])], { config: config({ gapWait: "2m" }) });
    expect(r).toMatchObject({
      gapDrains: 2,
      gapGiveUps: 2,
      removals: 0,
      overCapacityRuns: 1,
      peakBytes: 1200,
      delay: { delayedRuns: 1, totalS: 240, maxS: 240 },
    });
  });

  it("without gap prunes (prune.beforeRuns false) nothing drains; the timer defers while a run is live", async () => {
    const r = await sim([run("a", 0, [A]), run("b", 1, [B])], {
      config: config({ beforeRuns: false }),
      timerEveryMs: 5 * MIN,
    });
    expect(r.gapDrains).toBe(0);
    expect(r.overCapacityRuns).toBe(1);
    // Timer at minutes 0, 5, 10 (leases live: a until 10, b until 11), 15 (idle: prunes).
    expect(r.prunes.deferred).toBeGreaterThanOrEqual(2);
    expect(r.prunes.pruned).toBe(1);
  });

  it("a run waiting longer than lease.wait in one command gives up (exit 4 on a host) and never deploys", async () => {
    const r = await sim([run("a", 0, [A], 30), run("b", 1, [B])], {
      config: config({ gapWait: "40m" }, { wait: "10m" }),
    });
    expect(r.leaseTimeouts).toBe(1);
  });

  it("the prune before a prepull keeps that prepull's present images (PruneFacts.reserved)", async () => {
    // b needs x (present, used by a) and y (new). Without the reservation x, least needed by the
    // order, would go first; reserved, the prune removes a's own image instead and x stays.
    const X = img("x", 300);
    const Y = img("y", 400);
    const Z = img("z", 300);
    const r = await sim([run("a", 0, [X, Z], 10, "a"), run("b", 20, [X, Y], 10, "b")], {
      config: config({ reservation: "0s" }),
    });
    expect(r.removals).toBe(1);
    expect(r.deployPulls).toBe(0);
    expect(r.repulledBytes).toBe(0);
  });
});

describe("simulate: baselines", () => {
  // Three 400-byte images used in turn every 20 minutes; the disk holds two.
  const P = img("p", 400);
  const Q = img("q", 400);
  const R = img("r", 400);
  const loop = [P, Q, R, P, Q, R, P].map((i, k) => run(`r${k}`, k * 20, [i], 5, `app${i.ref[12]}`));

  it("autoPrune removes everything built more than a day before it runs, unused or not", async () => {
    const old = img("old", 100, T0 - 3 * 24 * 60 * MIN);
    const fresh = img("fresh", 100, T0);
    const r = await simulate([run("a", 0, [old, fresh], 5)], {
      capacityBytes: 1000,
      config: config(),
      policy: "autoprune",
      autoPrune: { atMsOfDay: 12 * 60 * MIN, untilMs: 24 * 60 * MIN },
    });
    expect(r.removals).toBe(1);
    expect(r.removedBytes).toBe(100);
    expect(r.prunes).toEqual({ pruned: 1 });
  });

  it("the same trace under every policy pulls each image at least once", async () => {
    for (const policy of ["imagekeeper", "lru", "oracle"] as const) {
      const r = await sim(loop, { policy });
      expect(r.pulls).toBeGreaterThanOrEqual(3);
      expect(r.overCapacityRuns).toBe(0);
    }
  });
});

describe("beladyReference", () => {
  // a b c a b c a on a disk of two: worked by hand.
  //   a, b: miss. c: miss, evict b (next use 4) over a (3). a: hit. b: miss, evict a (6) over c
  //   (5). c: hit. a: miss, evict either (b and c never again: larger first, then by ID: b).
  const a = img("a", 100);
  const b = img("b", 100);
  const c = img("c", 100);
  const seq = [a, b, c, a, b, c, a].map((i, k) => run(`s${k}`, k, [i], 0));

  it("evicts what is needed farthest in the future", () => {
    expect(beladyReference(seq, 200)).toEqual({
      pulls: 5,
      pulledBytes: 500,
      repulledBytes: 200,
      overCapacityRuns: 0,
      peakBytes: 200,
    });
  });

  it("with room for all three, pulls each once", () => {
    expect(beladyReference(seq, 300)).toMatchObject({ pulls: 3, repulledBytes: 0 });
  });

  it("never evicts an image of a run still live; a run that cannot fit counts as over capacity", () => {
    const long = [run("l1", 0, [a], 60), run("l2", 1, [b], 60), run("l3", 2, [c], 60)];
    expect(beladyReference(long, 200)).toMatchObject({ pulls: 3, overCapacityRuns: 1, peakBytes: 300 });
  });

  it("ratioOf: 1 when both are zero, null when only the reference is", () => {
    expect(ratioOf(0, 0)).toBe(1);
    expect(ratioOf(5, 0)).toBeNull();
    expect(ratioOf(125, 100)).toBe(1.25);
    expect(ratioOf(1, 3)).toBe(0.333);
  });
});

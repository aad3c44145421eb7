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

  // The rules of src/lease/drain.ts (enterGate, drainAndLock) and src/prune/gap-prune.ts, one
  // scenario each. a holds a 600-byte image for 30 minutes; b's prepull (B, 600) drains at 1.
  const C = img("c", 100);

  it("a run whose lease.wait runs out at the gate goes ahead of a drainer still waiting for runs (no exit 4)", async () => {
    // c's prepull (100 more: 700, below 850) passes no gate and pulls at 2; its run waits at the
    // gate from 2 until lease.wait (10m) runs out at 12, then takes its lease (until 22). b's
    // drain waits for a (until 30), then prunes.
    const r = await sim([run("a", 0, [A], 30), run("b", 1, [B]), run("c", 2, [C])], {
      config: config({ gapWait: "40m" }, { wait: "10m" }),
    });
    expect(r).toMatchObject({ leaseTimeouts: 0, wentAhead: 1, gapDrains: 1, gapGiveUps: 0 });
    expect(r.prunes.pruned).toBe(1);
    // b waited 29 minutes (1 → 30), c 10 (its gate only: the prepull did not wait).
    expect(r.delay).toEqual({ delayedRuns: 2, totalS: 39 * 60, maxS: 29 * 60 });
  });

  it("a run that went ahead is one more lease the drainer waits for: past prune.gapWait it gives up", async () => {
    // As above, but c runs 35 minutes (12 → 47): b's drain (gapWait 40m, until 41) gives up and
    // pulls (1300 bytes); b's run then drains again, waits for c until 47 and prunes.
    const r = await sim([run("a", 0, [A], 30), run("b", 1, [B]), run("c", 2, [C], 35)], {
      config: config({ gapWait: "40m" }, { wait: "10m" }),
    });
    expect(r).toMatchObject({ wentAhead: 1, gapDrains: 2, gapGiveUps: 1, leaseTimeouts: 0 });
    expect(r.prunes.pruned).toBe(1);
    expect(r.overCapacityRuns).toBe(1);
  });

  it("with lease.wait at least the drain's own bound, a run arriving during the drain never goes ahead", async () => {
    const r = await sim([run("a", 0, [A], 30), run("b", 1, [B]), run("c", 2, [C])], {
      config: config({ gapWait: "40m" }, { wait: "40m" }),
    });
    expect(r).toMatchObject({ wentAhead: 0, leaseTimeouts: 0 });
    // c waits at the gate from 2 until the drain ends at 30.
    expect(r.delay).toEqual({ delayedRuns: 2, totalS: 29 * 60 + 28 * 60, maxS: 29 * 60 });
  });

  // The rule before "a command waits behind at most one drain" (ablate.queuedDrainers): drainers
  // queue for drain.lock exclusively, first come, first served with the runs at the gate.
  const queued: Partial<SimOptions> = { ablate: { queuedDrainers: true } };

  it("old rule: a drainer queued behind another measures again once it holds the locks: no-pressure", async () => {
    // b (300: 900 ≥ 850) drains at 1; c (300 more) at 2 queues behind it. At 10 a ends: b prunes
    // (a's image goes) and pulls; c gets the locks, measures 300 + 300 incoming: no pressure.
    const B3 = img("b3", 300);
    const C3 = img("c3", 300);
    const r = await sim([run("a", 0, [A]), run("b", 1, [B3]), run("c", 2, [C3])], queued);
    expect(r).toMatchObject({
      gapDrains: 2,
      gapGiveUps: 0,
      gapRechecks: 0,
      removals: 1,
      prunes: { pruned: 1, "no-pressure": 1 },
    });
    expect(r.delay).toEqual({ delayedRuns: 2, totalS: 9 * 60 + 8 * 60, maxS: 9 * 60 });
  });

  it("old rule: drain.lock is handed on first come, first served: a run queued after a second drainer waits behind it too", async () => {
    // a (600, 0–10). b's prepull (300) drains at 1. c (50) waits at the gate from 2. e's prepull
    // (300: 950) queues as a drainer at 3. f (50) waits at the gate from 4. At 10 a ends: b
    // prunes and pulls; c (ahead of e) takes its lease (10–20); e takes drain.lock and waits for
    // c. f's lease.wait runs out at 14: it goes ahead (lease 14–24), so e waits for f too. b's
    // run reaches the gate at 10 and waits behind e until its lease.wait runs out at 20: it goes
    // ahead as well (lease 20–30). At 30 the last of them ends and e finds no pressure.
    const B3 = img("b3", 300);
    const E3 = img("e3", 300);
    const c50 = img("c50", 50);
    const f50 = img("f50", 50);
    const r = await sim(
      [run("a", 0, [A]), run("b", 1, [B3]), run("c", 2, [c50]), run("e", 3, [E3]), run("f", 4, [f50])],
      { config: config({ gapWait: "30m" }, { wait: "10m" }), ...queued },
    );
    expect(r).toMatchObject({ gapDrains: 2, gapGiveUps: 0, wentAhead: 2, leaseTimeouts: 0 });
    expect(r.prunes).toEqual({ pruned: 1, "no-pressure": 1 });
    // b 9 + 10, c 8, e 27 (3 → 30), f 10.
    expect(r.delay).toEqual({ delayedRuns: 4, totalS: (19 + 8 + 27 + 10) * 60, maxS: 27 * 60 });
  });

  it("a drainer behind another drain measures again when it ends: room made, no drain of its own", async () => {
    // As the old-rule scenario: at 10 b prunes and pulls (300); c measures 300 + 300: it pulls.
    const B3 = img("b3", 300);
    const C3 = img("c3", 300);
    const r = await sim([run("a", 0, [A]), run("b", 1, [B3]), run("c", 2, [C3])]);
    expect(r).toMatchObject({
      gapDrains: 2,
      gapGiveUps: 0,
      gapRechecks: 1,
      removals: 1,
      prunes: { pruned: 1 },
    });
    expect(r.delay).toEqual({ delayedRuns: 2, totalS: 9 * 60 + 8 * 60, maxS: 9 * 60 });
  });

  it("when a drain ends, every run at the gate and every drainer behind it get in together", async () => {
    // The old-rule FIFO scenario: at 10 b prunes (a's image) and pulls; c and f (at the gate)
    // take their leases, e measures 400 + 300 (below 850) and pulls; b's run passes the gate.
    const B3 = img("b3", 300);
    const E3 = img("e3", 300);
    const c50 = img("c50", 50);
    const f50 = img("f50", 50);
    const r = await sim(
      [run("a", 0, [A]), run("b", 1, [B3]), run("c", 2, [c50]), run("e", 3, [E3]), run("f", 4, [f50])],
      { config: config({ gapWait: "30m" }, { wait: "10m" }) },
    );
    expect(r).toMatchObject({ gapDrains: 2, gapGiveUps: 0, gapRechecks: 1, wentAhead: 0, leaseTimeouts: 0 });
    expect(r.prunes).toEqual({ pruned: 1 });
    // b 9, c 8, e 7, f 6.
    expect(r.delay).toEqual({ delayedRuns: 4, totalS: (9 + 8 + 7 + 6) * 60, maxS: 9 * 60 });
  });

  it.each([
    ["behind one drain, then its own with a fresh prune.gapWait: prunes", {}, 0],
    ["old rule: one prune.gapWait for both waits: gives up", { ablate: { queuedDrainers: true } }, 1],
  ] as const)("a drainer still under pressure after the drain ahead: %s", async (_n, o, giveUps) => {
    // b (300) drains at 1; g (50) waits at the gate from 2; c (700) announces at 9 (650 + 700).
    // At 10 b prunes; g takes its lease (10–20); c, still under pressure (350 + 700), drains:
    // until 20 with its own bound, past its first bound (9 + 10 = 19) with the old one.
    const r = await sim(
      [
        run("a", 0, [A]),
        run("b", 1, [img("b3", 300)]),
        run("g", 2, [img("g50", 50)]),
        run("c", 9, [img("c7", 700)]),
      ],
      { config: config({ gapWait: "10m" }), ...o },
    );
    expect(r.gapGiveUps).toBe(giveUps);
    // Giving up, c pulls anyway: 1050 bytes on the 1000-byte disk.
    expect(r.overCapacityRuns).toBe(giveUps);
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

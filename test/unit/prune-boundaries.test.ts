// Protections and boundaries of the prune decision that a one-line slip would move: the gate's
// exact reasons, a keep pattern against every name of an image, the dangling order, the sign of
// docker's until= margin, the exact-target boundary of expectedRemovals and the `pruned` outcome,
// use sessions, the median gap, the overdue boundary, and the window's edges. Sizes are bytes on a
// 1000-byte disk, so usage in percent is used bytes / 10.
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import type { LeaseInfo } from "../../src/lease/lease.js";
import type { DiskUsage } from "../../src/prune/measure.js";
import { classify, evictionOrder, type OrderItem, usualGap, useSessions } from "../../src/prune/order.js";
import {
  decideGate,
  type ImageFact,
  type PruneFacts,
  planPrune,
  type ServiceFact,
} from "../../src/prune/plan.js";
import { ALWAYS_OPEN, type WindowState, windowState } from "../../src/prune/window.js";
import { emptyLedger } from "../../src/state/ledger.js";
import { firstSeenAt } from "../support/ledger-fixtures.js";

const H = 3_600_000;
const D = 24 * H;
const NOW = new Date("2025-03-01T12:00:00Z");
const NOW_MS = NOW.getTime();
const cfg = (prune: Record<string, unknown> = {}) =>
  configSchema.parse({
    prune: {
      lowWatermarkPercent: 70,
      highWatermarkPercent: 85,
      criticalWatermarkPercent: 95,
      minFree: null,
      maxFree: null,
      ...prune,
    },
  }).prune;
const disk = (used: number): DiskUsage => ({
  path: "/var/lib/docker",
  totalBytes: 1000,
  usedBytes: used,
  freeBytes: 1000 - used,
  usedPercent: used / 10,
});
const hex = (c: string) => `sha256:${c.repeat(64).slice(0, 64)}`;

function image(id: string, tags: string[], o: Partial<ImageFact> = {}): ImageFact {
  return {
    id: hex(id),
    repoTags: tags,
    repoDigests: [],
    sizeBytes: 10,
    createdMs: NOW_MS - 100 * D,
    lastTagTimeMs: null,
    ...o,
  };
}

/** Facts in which every image was first seen 30 days ago (old enough to remove). */
function facts(images: ImageFact[], o: Partial<PruneFacts> = {}): PruneFacts {
  return {
    now: NOW,
    disk: disk(900),
    images,
    containers: [],
    services: [],
    ledger: firstSeenAt(
      emptyLedger(),
      images.map((i) => i.id),
      new Date(NOW_MS - 30 * D),
    ),
    window: ALWAYS_OPEN,
    leases: [],
    ...o,
  };
}

describe("the gate's reasons, word for word", () => {
  const lease = (id: string, pid: number): LeaseInfo => ({
    id,
    pid,
    command: "abra app deploy",
    since: NOW.toISOString(),
    kind: "run",
  });
  const closed = (nextOpen: string | null): WindowState => ({
    configured: true,
    open: false,
    openedAt: null,
    closesAt: null,
    nextOpen,
  });
  const open: WindowState = { ...ALWAYS_OPEN, configured: true };
  it.each([
    [849, ALWAYS_OPEN, [], "usage 84.9% is below the high watermark (85%)"],
    [850, ALWAYS_OPEN, [], "usage 85% is at or above the high watermark (85%)"],
    [850, open, [], "usage 85% is at or above the high watermark (85%), inside the prune window"],
    [
      949,
      closed("2025-03-02T02:00:00.000Z"),
      [],
      "usage 94.9% is at or above the high watermark (85%), below critical (95%), and the prune window is closed (next opens 2025-03-02T02:00:00.000Z)",
    ],
    [
      900,
      closed(null),
      [],
      "usage 90% is at or above the high watermark (85%), below critical (95%), and the prune window is closed",
    ],
    [950, closed(null), [], "usage 95% is at or above the critical watermark (95%)"],
    [
      990,
      ALWAYS_OPEN,
      [lease("r1", 42), lease("r2", 43)],
      "2 run lease(s) live (r1: pid 42 abra app deploy; r2: pid 43 abra app deploy): a prune never runs during a CI run",
    ],
  ] as const)("used %i/1000, %j, leases %j", (used, window, leases, reason) => {
    expect(decideGate(disk(used), cfg(), window, [...leases]).reason).toBe(reason);
  });
  it("routine vs critical, and which outcome", () => {
    const g = (used: number, w: WindowState) => {
      const x = decideGate(disk(used), cfg(), w, []);
      return x.proceed ? x.level : x.outcome;
    };
    expect([g(849, ALWAYS_OPEN), g(850, ALWAYS_OPEN), g(949, ALWAYS_OPEN), g(950, ALWAYS_OPEN)]).toEqual([
      "no-pressure",
      "routine",
      "routine",
      "critical",
    ]);
    expect([g(949, closed(null)), g(950, closed(null))]).toEqual(["outside-window", "critical"]);
  });
});

describe("prune.keep is checked against every name of an image", () => {
  it.each([
    [["app/x:1", "traefik:v2.11"], ["traefik:*"], 'traefik:v2.11 matches prune.keep pattern "traefik:*"'],
    [["traefik:v2.11", "app/x:1"], ["app/*"], 'app/x:1 matches prune.keep pattern "app/*"'],
    [["app/x:1", "b/y:2"], ["nomatch", "b/?:2"], 'b/y:2 matches prune.keep pattern "b/?:2"'],
  ])("names %j, keep %j", (tags, keep, reason) => {
    const plan = planPrune(facts([image("a", tags)]), cfg({ keep }));
    expect(plan.removable).toEqual([]);
    expect(plan.kept.map((k) => [k.code, k.reason])).toEqual([["keep-pattern", reason]]);
  });
  it("no pattern matching any name: removable", () => {
    const plan = planPrune(facts([image("a", ["app/x:1", "b/y:2"])]), cfg({ keep: ["c/*", "app/x:2"] }));
    expect(plan.kept).toEqual([]);
    expect(plan.removable.map((r) => r.ref)).toEqual(["app/x:1"]);
  });
});

describe("dangling images: all of them, oldest first", () => {
  it("by last use, then larger first, then by id", () => {
    const ledgerAt = (ids: [string, number][]) =>
      ids.reduce((l, [id, ago]) => firstSeenAt(l, [hex(id)], new Date(NOW_MS - ago)), emptyLedger());
    const imgs = [
      image("1", [], { sizeBytes: 5 }), // 20 days
      image("2", [], { sizeBytes: 5 }), // 40 days
      image("3", [], { sizeBytes: 5 }), // 30 days, small
      image("4", [], { sizeBytes: 9 }), // 30 days, large
      image("6", [], { sizeBytes: 9 }), // 30 days, large, later id
    ];
    const ledger = ledgerAt([
      ["1", 20 * D],
      ["2", 40 * D],
      ["3", 30 * D],
      ["6", 30 * D],
      ["4", 30 * D],
    ]);
    const plan = planPrune(facts(imgs, { ledger }), cfg());
    expect(plan.removable.map((r) => [r.id.slice(7, 8), r.order, r.code])).toEqual([
      ["2", 1, "dangling"],
      ["4", 2, "dangling"],
      ["6", 3, "dangling"],
      ["3", 4, "dangling"],
      ["1", 5, "dangling"],
    ]);
  });
  it("come before every tagged image, whatever their age", () => {
    const ledger = firstSeenAt(
      firstSeenAt(emptyLedger(), [hex("t")], new Date(NOW_MS - 90 * D)),
      [hex("d")],
      new Date(NOW_MS - 2 * D),
    );
    const plan = planPrune(facts([image("t", ["app/x:1"]), image("d", [])], { ledger }), cfg());
    expect(plan.removable.map((r) => [r.phase, r.order])).toEqual([
      ["dangling", 1],
      ["tagged", 2],
    ]);
  });
});

describe("the dangling step: docker image prune's until= margin", () => {
  // A swarm service's digest-pinned image is untagged (moby#31574): protected here, but docker image
  // prune would take it if its build time is old enough for until=minAge. We cannot know the
  // daemon's clock exactly: within 5 minutes of the limit, assume docker takes it.
  const pinned = (createdMs: number) =>
    image("p", [], { repoDigests: [`reg.example/a/app@${hex("e")}`], createdMs });
  const service: ServiceFact = {
    id: "s",
    name: "app_web",
    image: `reg.example/a/app:1@${hex("e")}`,
    previousImage: null,
  };
  const method = (createdAgo: number) => {
    const imgs = [pinned(NOW_MS - createdAgo), image("d", [])];
    return planPrune(facts(imgs, { services: [service] }), cfg({ minAge: "24h" })).dangling.method;
  };
  it.each([
    ["built long ago: docker would take it", 30 * D, "each"],
    ["built exactly minAge ago", D, "each"],
    ["built 5 min less than minAge ago (inside the margin)", D - 5 * 60_000, "each"],
    ["built 5 min + 1 ms less than minAge ago (outside the margin)", D - 5 * 60_000 - 1, "image-prune"],
    ["built an hour ago", H, "image-prune"],
  ])("%s: %s", (_n, ago, expected) => {
    expect(method(ago)).toBe(expected);
  });
  it("an untagged image a container uses is never taken by docker image prune", () => {
    const imgs = [image("c", [], { createdMs: NOW_MS - 30 * D }), image("d", [])];
    const plan = planPrune(
      facts(imgs, { containers: [{ id: "k", name: "job", imageId: hex("c"), image: "x", state: "exited" }] }),
      cfg(),
    );
    expect(plan.dangling.method).toBe("image-prune");
  });
  it("nothing dangling: none", () => {
    expect(planPrune(facts([image("t", ["app/x:1"])]), cfg()).dangling.method).toBe("none");
  });
});

describe("expectedRemovals and the expected outcome: the exact target", () => {
  // 900 of 1000 bytes used; below 70% means freeing 201 bytes (usage 69.9%).
  const plan = (sizes: number[], prune: Record<string, unknown> = {}, used = 900) =>
    planPrune(
      facts(
        sizes.map((s, i) => image(String(i + 1), [`app/x:${i + 1}`], { sizeBytes: s })),
        { disk: disk(used) },
      ),
      cfg(prune),
    );
  it("targetBytes: one byte past low", () => {
    expect(plan([1]).targetBytes).toBe(201);
    expect(plan([1], {}, 701).targetBytes).toBe(2);
    expect(plan([1], {}, 700).targetBytes).toBe(1);
    expect(plan([1], {}, 650).targetBytes).toBe(0);
  });
  it.each([
    // Same age: larger first.
    ["exactly the target after two", [101, 100, 50], 2, "pruned"],
    ["one byte short after two", [100, 100, 50], 3, "pruned"],
    ["never enough", [100, 100], 2, "insufficient"],
    ["one image enough", [201, 5], 1, "pruned"],
    ["one image one byte short", [200], 1, "insufficient"],
  ])("%s: %j → %i, %s", (_n, sizes, n, outcome) => {
    const p = plan(sizes);
    expect([p.expectedRemovals, p.outcome]).toEqual([n, outcome]);
  });
  it("counts whole chunks", () => {
    expect(plan([201, 10, 10], { chunkSize: 2 }).expectedRemovals).toBe(2);
    expect(plan([100, 100, 10, 5], { chunkSize: 2 }).expectedRemovals).toBe(4);
    expect(plan([201, 10, 10], { chunkSize: 1 }).expectedRemovals).toBe(1);
    // 100+50+30 = 180, then the next chunk (20, 10) reaches 210: five, each counted once.
    expect(plan([100, 50, 30, 20, 10], { chunkSize: 3 }).expectedRemovals).toBe(5);
  });
  it("dangling images all count, before any tagged one", () => {
    const imgs = [
      image("d", [], { sizeBytes: 150 }),
      image("e", [], { sizeBytes: 60 }),
      image("t", ["app/x:1"], { sizeBytes: 500 }),
    ];
    const p = planPrune(facts(imgs), cfg());
    expect([p.expectedRemovals, p.outcome]).toEqual([2, "pruned"]);
    const short = planPrune(facts(imgs.slice(0, 1)), cfg());
    expect([short.expectedRemovals, short.outcome]).toEqual([1, "insufficient"]);
  });
  it("no removals expected when the gate does not proceed", () => {
    const p = plan([500], {}, 800);
    expect([p.expectedRemovals, p.outcome]).toEqual([0, "no-pressure"]);
  });
});

describe("use sessions, the usual gap, overdue", () => {
  const M = 60_000;
  it.each([
    [[], []],
    [[0], [0]],
    // Exactly an hour after the previous use: a new session; a millisecond less: the same.
    [
      [0, 60 * M],
      [0, 60 * M],
    ],
    [[0, 60 * M - 1], [0]],
    // A session extends with each use: 0, 50 min, 100 min is one session.
    [[0, 50 * M, 100 * M], [0]],
    [
      [100 * M, 0, 50 * M, 300 * M],
      [0, 300 * M],
    ],
  ])("useSessions(%j) = %j", (uses, sessions) => {
    expect(useSessions(uses)).toEqual(sessions);
  });
  it.each([
    [[0], null],
    [[0, 30 * M], null],
    [[0, 5 * H], 5 * H],
    // Gaps 9h, 10h, 100h: sorted numerically, the middle one.
    [[0, 100 * H, 109 * H, 119 * H], 10 * H],
    // Gaps 1, 2, 3, 4 days: the upper median.
    [[0, D, 3 * D, 6 * D, 10 * D], 3 * D],
    [[0, 2 * D, 3 * D], 2 * D],
  ])("usualGap(%j) = %j", (uses, gap) => {
    expect(usualGap(uses)).toBe(gap);
  });

  const item = (o: Partial<OrderItem>): OrderItem => ({
    key: "k",
    sizeBytes: 1,
    lastUseMs: 0,
    usesMs: [],
    superseded: false,
    ...o,
  });
  it.each([
    // Daily rhythm, last use at day 2: predicted day 3; overdue only after day 4.
    ["due exactly at the overdue limit", 4 * D, "predicted", 3 * D],
    ["one ms past the limit", 4 * D + 1, "overdue", null],
    ["before the predicted use", 2 * D + H, "predicted", 3 * D],
  ] as const)("%s", (_n, now, cls, predicted) => {
    const c = classify(item({ lastUseMs: 2 * D, usesMs: [0, D, 2 * D] }), now);
    expect([c.class, c.gapMs, c.predictedNextUseMs]).toEqual([cls, D, predicted]);
  });
  it("superseded wins over any rhythm; no history is LRU on the same time scale", () => {
    const s = classify(item({ superseded: true, lastUseMs: 2 * D, usesMs: [0, D, 2 * D] }), 2 * D);
    expect([s.class, s.gapMs, s.predictedNextUseMs]).toEqual(["superseded", D, null]);
    expect(classify(item({ lastUseMs: 10 * D }), 12 * D)).toEqual({
      class: "lru",
      gapMs: null,
      predictedNextUseMs: 14 * D,
    });
    // A last use in the future (clock step): predicted now, not earlier.
    expect(classify(item({ lastUseMs: 13 * D }), 12 * D).predictedNextUseMs).toBe(12 * D);
  });
  it("order: superseded and overdue oldest first, then farthest predicted use, then larger, then key", () => {
    const now = 100 * D;
    const order = evictionOrder(
      [
        item({ key: "p-near", lastUseMs: 99 * D, usesMs: [98 * D, 99 * D] }), // next use at 100d
        item({ key: "p-far", lastUseMs: 99 * D, usesMs: [95 * D, 99 * D] }), // next use at 103d
        item({ key: "s-new", superseded: true, lastUseMs: 90 * D }),
        item({ key: "o-old", lastUseMs: 50 * D, usesMs: [49 * D, 50 * D] }), // overdue
        item({ key: "lru-b", lastUseMs: 98 * D, sizeBytes: 5 }), // next use at 102d
        item({ key: "lru-a", lastUseMs: 98 * D, sizeBytes: 5 }),
        item({ key: "lru-big", lastUseMs: 98 * D, sizeBytes: 9 }),
      ],
      now,
    );
    expect(order.map((o) => [o.key, o.rank, o.class])).toEqual([
      ["o-old", 1, "overdue"],
      ["s-new", 2, "superseded"],
      ["p-far", 3, "predicted"],
      ["lru-big", 4, "lru"],
      ["lru-a", 5, "lru"],
      ["lru-b", 6, "lru"],
      ["p-near", 7, "predicted"],
    ]);
  });
});

describe("the window's edges", () => {
  // Local time, as cron reads it.
  const at = (h: number, m = 0, s = 0, ms = 0) => new Date(2025, 2, 10, h, m, s, ms);
  it.each([
    ["1 ms before it opens", at(1, 59, 59, 999), false],
    ["as it opens", at(2), true],
    ["1 ms before it closes", at(2, 59, 59, 999), true],
    ["as it closes", at(3), false],
  ])("daily 02:00 for 1h, %s: open %s", async (_n, now, open) => {
    const w = await windowState("0 2 * * *", H, now);
    expect(w.open).toBe(open);
    expect(w.configured).toBe(true);
  });
  it("open: when it opened and when it closes; closed: neither", async () => {
    const w = await windowState("0 2 * * *", 30 * 60_000, at(2, 10));
    expect([w.openedAt, w.closesAt, w.nextOpen]).toEqual([
      at(2).toISOString(),
      at(2, 30).toISOString(),
      new Date(2025, 2, 11, 2).toISOString(),
    ]);
    const c = await windowState("0 2 * * *", 30 * 60_000, at(2, 30));
    expect([c.openedAt, c.closesAt]).toEqual([null, null]);
  });
  it("a zero-length window never opens", async () => {
    expect((await windowState("0 2 * * *", 0, at(2))).open).toBe(false);
  });
});

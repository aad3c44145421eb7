// What Stryker found unpinned in the ledger (v2) after test/unit/ledger.test.ts: clock safety for a
// mix of past and future uses, a late sighting never moving last-seen back, the need-set horizon
// boundary, v1 refs capped, ties among users at the cap, and a damaged file set aside.
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ImageArrival, ImageUse, NeedSet } from "../../src/model/use.js";
import { traceFromLedger } from "../../src/sim/from-ledger.js";
import {
  applyChange,
  applyChangeInPlace,
  emptyLedger,
  fromV1,
  type ImageEntry,
  type Ledger,
  readLedger,
  recordLedger,
} from "../../src/state/ledger.js";

const H = 3_600_000;
const D = 24 * H;
const T0 = Date.UTC(2026, 0, 1);
const t = (h: number) => T0 + h * H;
const use = (at: number, id: string, more: Partial<ImageUse> = {}): ImageUse => ({
  at,
  id,
  source: "prepull",
  ...more,
});

describe("applyChange", () => {
  it("after a clock step back, a future use among past ones is pulled back to now", () => {
    let l = applyChange(emptyLedger(), { uses: [use(t(0), "a"), use(t(10), "a")] }, t(10));
    // The clock now says t(5): the use at t(10) is in the future, the one at t(0) is not.
    l = applyChange(l, {}, t(5));
    expect(l.images.a!.uses).toEqual([t(0), t(5)]);
  });
  it("a sighting older than a recorded use does not move last-seen back", () => {
    let l = applyChange(emptyLedger(), { uses: [use(t(10), "a")] }, t(10));
    l = applyChange(l, { sighting: { at: t(4), present: ["a"] } }, t(10));
    expect(l.images.a!.lastSeen).toBe(t(10));
  });
  it("a need set exactly the horizon old is kept; a millisecond older is forgotten", () => {
    const need = {
      at: t(0),
      app: "app",
      role: "deploy",
      recipe: "r",
      version: null,
      versionSource: "working-tree" as const,
      images: [],
    };
    const l = applyChange(emptyLedger(), { needs: [need] }, t(0));
    expect(Object.keys(applyChange(l, {}, t(0) + 7 * D, { horizonMs: 7 * D }).needs)).toEqual(["app|deploy"]);
    expect(Object.keys(applyChange(l, {}, t(0) + 7 * D + 1, { horizonMs: 7 * D }).needs)).toEqual([]);
  });
  it("users at the cap with the same last use: the first 16 by key are kept", () => {
    const uses = Array.from({ length: 18 }, (_, i) =>
      use(t(1), "a", { app: `u${String(i).padStart(2, "0")}` }),
    );
    const l = applyChange(emptyLedger(), { uses }, t(1));
    expect(Object.keys(l.images.a!.by).sort()).toEqual(
      Array.from({ length: 16 }, (_, i) => `u${String(i).padStart(2, "0")}`),
    );
  });
});

describe("fromV1", () => {
  it("keeps at most 8 names per image, the last ones", () => {
    const images = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [
        `r:${i}`,
        { id: "sha256:a", uses: ["2026-01-01T00:00:00Z"], recipes: [] },
      ]),
    );
    const l = fromV1({ version: 1, recipes: {}, images, firstSeen: {} });
    expect(l.images["sha256:a"]!.refs).toEqual(["r:2", "r:3", "r:4", "r:5", "r:6", "r:7", "r:8", "r:9"]);
  });
});

describe("recordLedger", () => {
  it("writes ledger.json group-writable; a damaged one is set aside, reported and rebuilt", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ik-ledger-"));
    const file = path.join(dir, "ledger.json");
    writeFileSync(file, "{ damaged");
    const r = await recordLedger(dir, { uses: [use(t(1), "a")] }, { now: t(1) });
    expect(r.problem).toMatch(/ledger\.json is not valid JSON/);
    expect(readdirSync(dir).filter((f) => f.startsWith("ledger.json.damaged-"))).toHaveLength(1);
    expect(statSync(file).mode & 0o777).toBe(0o664);
    expect(readLedger(dir)).toEqual({ ledger: r.ledger });
    expect(r.ledger.images.a!.uses).toEqual([t(1)]);
    expect(existsSync(path.join(dir, "ledger.lock"))).toBe(false);
    const again = await recordLedger(dir, { uses: [use(t(2), "a")] }, { now: t(2) });
    expect(again.problem).toBeUndefined();
    expect(again.ledger.images.a!.uses).toEqual([t(1), t(2)]);
  });
});

// Second round (issue 12): the default horizon, sizes kept when a later report has none, the
// arrival never moving last-seen back, the cap on prepull runs, gone for unknown or already-gone
// images, in-place changes, the order of an image's users (simulate --from-ledger names a run
// after the first), and clock safety field by field for ledgers not written by imagekeeper (a
// hand-edited or foreign file): each time in the future is pulled back, and nothing else changes.
const arrival = (at: number, id: string, more: Partial<ImageArrival> = {}): ImageArrival => ({
  at,
  id,
  how: "pull",
  ...more,
});
const need = (at: number, app = "app"): NeedSet => ({
  at,
  app,
  role: "deploy",
  recipe: "r",
  version: null,
  versionSource: "working-tree",
  images: [],
});
const entry = (e: Partial<ImageEntry>): ImageEntry => ({
  refs: [],
  uses: [],
  arrived: null,
  firstSeen: t(0),
  lastSeen: t(0),
  gone: null,
  by: {},
  ...e,
});
const ledgerOf = (images: Record<string, ImageEntry>, needs: Ledger["needs"] = {}): Ledger => ({
  version: 2,
  images,
  needs,
});

describe("applyChange, second round", () => {
  it("the default horizon is 30 days: an image gone 30 days is kept, a millisecond more forgotten", () => {
    let l = applyChange(emptyLedger(), { uses: [use(t(0), "a")] }, t(0));
    l = applyChange(l, { gone: [{ id: "a", at: t(1) }] }, t(1));
    expect(Object.keys(applyChange(l, {}, t(1) + 30 * D).images)).toEqual(["a"]);
    expect(Object.keys(applyChange(l, {}, t(1) + 30 * D + 1).images)).toEqual([]);
  });

  it("an arrival's size is recorded; one without a size keeps the known size", () => {
    let l = applyChange(emptyLedger(), { arrivals: [arrival(t(0), "a", { sizeBytes: 1234 })] }, t(0));
    expect(l.images.a!.size).toBe(1234);
    l = applyChange(l, { arrivals: [arrival(t(1), "a")] }, t(1));
    expect(l.images.a!.size).toBe(1234);
    expect(applyChange(emptyLedger(), { arrivals: [arrival(t(0), "b")] }, t(0)).images.b).not.toHaveProperty(
      "size",
    );
  });

  it("a sighting's size is recorded; a sighting without one keeps the known size", () => {
    let l = applyChange(emptyLedger(), { sighting: { at: t(0), present: ["a"], sizes: { a: 555 } } }, t(0));
    expect(l.images.a!.size).toBe(555);
    l = applyChange(l, { sighting: { at: t(1), present: ["a"], sizes: {} } }, t(1));
    expect(l.images.a!.size).toBe(555);
    l = applyChange(l, { sighting: { at: t(2), present: ["a"] } }, t(2));
    expect(l.images.a!.size).toBe(555);
    expect(
      applyChange(emptyLedger(), { sighting: { at: t(0), present: ["b"] } }, t(0)).images.b,
    ).not.toHaveProperty("size");
  });

  it("an arrival reported late does not move last-seen back", () => {
    let l = applyChange(emptyLedger(), { uses: [use(t(10), "a")] }, t(10));
    l = applyChange(l, { arrivals: [arrival(t(4), "a")] }, t(10));
    expect(l.images.a!.lastSeen).toBe(t(10));
    expect(l.images.a!.arrived).toBe(t(4));
  });

  it("an app+role keeps its last 12 prepull times", () => {
    let l = emptyLedger();
    for (let i = 0; i < 14; i++) l = applyChange(l, { needs: [need(t(i))] }, t(i));
    expect(l.needs["app|deploy"]!.runs).toEqual(Array.from({ length: 12 }, (_, i) => t(i + 2)));
  });

  it("gone for an image never seen records nothing; gone again keeps the first time", () => {
    let l = applyChange(emptyLedger(), { uses: [use(t(0), "a")] }, t(0));
    l = applyChange(
      l,
      {
        gone: [
          { id: "zz", at: t(1) },
          { id: "a", at: t(1) },
        ],
      },
      t(1),
    );
    expect(Object.keys(l.images)).toEqual(["a"]);
    l = applyChange(l, { gone: [{ id: "a", at: t(2) }] }, t(2));
    expect(l.images.a!.gone).toBe(t(1));
  });

  it("applyChangeInPlace changes the ledger and its entries themselves", () => {
    const l = applyChange(emptyLedger(), { uses: [use(t(0), "a")] }, t(0));
    const a = l.images.a!;
    const out = applyChangeInPlace(l, { uses: [use(t(1), "a"), use(t(2), "b")] }, t(2));
    expect(out).toBe(l);
    expect(l.images.a).toBe(a);
    expect(a.uses).toEqual([t(0), t(1)]);
    expect(Object.keys(l.images)).toEqual(["a", "b"]);
  });

  it("users beyond the cap: the 16 most recent are kept, ties by key, whatever order they came in", () => {
    // Reverse key order, all at one instant: only the key decides.
    const uses = Array.from({ length: 18 }, (_, i) =>
      use(t(1), "a", { app: `u${String(17 - i).padStart(2, "0")}` }),
    );
    const l = applyChange(emptyLedger(), { uses }, t(1));
    expect(Object.keys(l.images.a!.by).sort()).toEqual(
      Array.from({ length: 16 }, (_, i) => `u${String(i).padStart(2, "0")}`),
    );
  });

  it.each([2, 16])(
    "with %i users (not over the cap) they stay in the order they came: simulate names the run after the first",
    (n) => {
      const uses = [
        use(t(1), "a", { app: "zeta" }),
        ...Array.from({ length: n - 1 }, (_, i) => use(t(1), "a", { app: `a${String(i).padStart(2, "0")}` })),
      ];
      const l = applyChange(emptyLedger(), { uses }, t(1));
      expect(Object.keys(l.images.a!.by)[0]).toBe("zeta");
      expect(traceFromLedger(l, { runLengthS: 60, defaultSizeBytes: 1 }).runs.map((r) => r.app)).toEqual([
        "zeta",
      ]);
    },
  );
});

describe("clock safety for a ledger not written by imagekeeper", () => {
  const now = t(5);
  it.each<[string, Partial<ImageEntry>, Partial<ImageEntry>]>([
    ["a use", { uses: [t(0), t(9)] }, { uses: [t(0), now] }],
    ["only future uses", { uses: [t(8), t(9)] }, { uses: [now] }],
    ["the arrival", { arrived: t(9) }, { arrived: now }],
    ["last seen", { lastSeen: t(9) }, { lastSeen: now }],
    ["first seen", { firstSeen: t(9) }, { firstSeen: now }],
    [
      "a user's last use",
      { by: { old: t(1), "app|deploy": t(9) } },
      { by: { old: t(1), "app|deploy": now } },
    ],
  ])("%s in the future, alone: pulled back to now, nothing else changed", (_n, future, want) => {
    const base = { uses: [t(1)], arrived: t(1), by: { old: t(1) } };
    const l = applyChange(ledgerOf({ a: entry({ ...base, ...future }) }), {}, now);
    expect(l.images.a).toEqual(entry({ ...base, ...want }));
  });

  it("an entry with no arrival stays without one when pulled back", () => {
    const l = applyChange(ledgerOf({ a: entry({ lastSeen: t(9) }) }), {}, now);
    expect(l.images.a!.arrived).toBeNull();
  });

  it.each<[string, number, number[], number, number[]]>([
    ["its time", t(9), [t(1)], now, [t(1)]],
    ["one run", t(1), [t(1), t(9)], t(1), [t(1), now]],
    ["every run", t(1), [t(8), t(9)], t(1), [now]],
  ])("a need set with %s in the future: pulled back to now", (_n, at, runs, wantAt, wantRuns) => {
    const l = applyChange(ledgerOf({}, { "app|deploy": { ...need(at), runs } }), {}, now);
    expect(l.needs["app|deploy"]).toEqual({ ...need(wantAt), runs: wantRuns });
  });

  it("nothing after now (times equal to it included): nothing rewritten, not even uses a second apart", () => {
    const hand = entry({
      uses: [now - 2000, now - 1000, now],
      arrived: now,
      firstSeen: now,
      lastSeen: now,
      by: { "app|deploy": now },
    });
    const runs = [now - 2000, now - 1000, now];
    const l = applyChange(ledgerOf({ a: hand }, { "app|deploy": { ...need(now), runs } }), {}, now);
    expect(l.images.a).toEqual(hand);
    expect(l.needs["app|deploy"]!.runs).toEqual(runs);
  });
});

describe("recordLedger, second round", () => {
  it("a healthy ledger is replaced, never set aside", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ik-ledger-"));
    await recordLedger(dir, { uses: [use(t(1), "a")] }, { now: t(1) });
    const r = await recordLedger(dir, { uses: [use(t(2), "a")] }, { now: t(2) });
    expect(r).toEqual({ ledger: readLedger(dir).ledger });
    expect(readdirSync(dir)).toEqual(["ledger.json"]);
  });
});

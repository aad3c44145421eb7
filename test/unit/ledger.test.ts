import { describe, expect, it } from "vitest";
import type { ImageUse, LedgerChange } from "../../src/model/use.js";
import {
  applyChange,
  compactUses,
  DEFAULT_HORIZON_MS,
  emptyLedger,
  fromV1,
  type Ledger,
  ledgerSchema,
  MAX_REFS,
  MAX_USERS,
  MAX_USES,
  SAME_USE_MS,
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
const apply = (l: Ledger, c: LedgerChange, now: number, horizonMs?: number) =>
  applyChange(l, c, now, horizonMs === undefined ? {} : { horizonMs });

describe("compactUses", () => {
  it.each([
    ["sorted ascending", [3 * H, H, 2 * H], [H, 2 * H, 3 * H]],
    ["a use less than SAME_USE_MS after the kept one is dropped", [0, SAME_USE_MS - 1], [0]],
    ["exactly SAME_USE_MS apart: both kept", [0, SAME_USE_MS], [0, SAME_USE_MS]],
    ["duplicates collapse", [H, H, H], [H]],
    ["empty", [], []],
  ])("%s", (_n, input, expected) => {
    expect(compactUses(input)).toEqual(expected);
  });

  it("keeps the newest MAX_USES", () => {
    const uses = Array.from({ length: 40 }, (_, i) => i * H);
    const out = compactUses(uses);
    expect(out).toHaveLength(32);
    expect(out[0]).toBe(8 * H);
    expect(out.at(-1)).toBe(39 * H);
    expect(MAX_USES).toBe(32);
  });
});

describe("applyChange: uses", () => {
  it("creates an entry first seen at the use, records the ref, the app+role and the time", () => {
    const l = apply(
      emptyLedger(),
      { uses: [use(t(1), "sha256:a", { ref: "a:1", app: "x_y", role: "deploy" })] },
      t(2),
    );
    expect(l.images["sha256:a"]).toEqual({
      refs: ["a:1"],
      uses: [t(1)],
      arrived: null,
      firstSeen: t(1),
      lastSeen: t(1),
      gone: null,
      by: { "x_y|deploy": t(1) },
    });
  });

  it("a use without a role is recorded under the app alone; without an app, under nobody", () => {
    const l = apply(
      emptyLedger(),
      { uses: [use(t(1), "sha256:a", { app: "web" }), use(t(2), "sha256:b", { source: "container" })] },
      t(3),
    );
    expect(l.images["sha256:a"]!.by).toEqual({ web: t(1) });
    expect(l.images["sha256:b"]!.by).toEqual({});
  });

  it("keeps an existing entry's first sighting, advances last seen and the user's last use, never back", () => {
    let l = apply(emptyLedger(), { uses: [use(t(5), "sha256:a", { app: "w" })] }, t(5));
    l = apply(l, { uses: [use(t(9), "sha256:a", { app: "w" })] }, t(9));
    l = apply(l, { uses: [use(t(7), "sha256:a", { app: "w" })] }, t(10));
    const e = l.images["sha256:a"]!;
    expect(e.firstSeen).toBe(t(5));
    expect(e.lastSeen).toBe(t(9));
    expect(e.by.w).toBe(t(9));
    expect(e.uses).toEqual([t(5), t(7), t(9)]);
  });

  it("a use of an image marked gone brings it back", () => {
    let l = apply(emptyLedger(), { uses: [use(t(1), "sha256:a")] }, t(1));
    l = apply(l, { gone: [{ at: t(2), id: "sha256:a" }] }, t(2));
    expect(l.images["sha256:a"]!.gone).toBe(t(2));
    l = apply(l, { uses: [use(t(3), "sha256:a")] }, t(3));
    expect(l.images["sha256:a"]!.gone).toBeNull();
  });

  it("refs: most recent last, no duplicates, at most MAX_REFS", () => {
    let l = emptyLedger();
    for (let i = 0; i < MAX_REFS + 3; i++)
      l = apply(l, { uses: [use(t(i), "sha256:a", { ref: `r:${i}` })] }, t(i));
    l = apply(l, { uses: [use(t(20), "sha256:a", { ref: "r:5" })] }, t(20));
    const refs = l.images["sha256:a"]!.refs;
    expect(refs).toHaveLength(MAX_REFS);
    expect(refs.at(-1)).toBe("r:5");
    expect(refs.filter((r) => r === "r:5")).toHaveLength(1);
    expect(refs[0]).toBe("r:3");
  });

  it("users: the MAX_USERS most recent kept", () => {
    let l = emptyLedger();
    for (let i = 0; i < MAX_USERS + 2; i++)
      l = apply(l, { uses: [use(t(i), "sha256:a", { app: `app${i}` })] }, t(i));
    const by = l.images["sha256:a"]!.by;
    expect(Object.keys(by)).toHaveLength(MAX_USERS);
    expect(by.app0).toBeUndefined();
    expect(by.app1).toBeUndefined();
    expect(by[`app${MAX_USERS + 1}`]).toBe(t(MAX_USERS + 1));
    expect(MAX_USERS).toBe(16);
  });

  it("does not change its input", () => {
    const l = emptyLedger();
    apply(
      l,
      { uses: [use(t(1), "sha256:a")], needs: [], sighting: { at: t(1), present: ["sha256:b"] } },
      t(1),
    );
    expect(l).toEqual(emptyLedger());
  });
});

describe("applyChange: arrivals", () => {
  it("records the latest arrival, never an earlier one over it", () => {
    let l = apply(emptyLedger(), { arrivals: [{ at: t(3), id: "sha256:a", ref: "a:1", how: "pull" }] }, t(3));
    l = apply(l, { arrivals: [{ at: t(2), id: "sha256:a", how: "tag" }] }, t(4));
    expect(l.images["sha256:a"]).toMatchObject({ arrived: t(3), refs: ["a:1"], firstSeen: t(3), uses: [] });
  });
});

describe("applyChange: need sets", () => {
  const set = (at: number, images: string[], more: Partial<{ app: string; role: string }> = {}) => ({
    at,
    app: more.app ?? "web",
    role: more.role ?? "deploy",
    recipe: "web",
    version: "1.0.0",
    versionSource: "pinned" as const,
    images: images.map((ref) => ({ ref, id: null })),
  });

  it("keyed by app and role: a newer set replaces the app+role's older one, other keys untouched", () => {
    let l = apply(
      emptyLedger(),
      { needs: [set(t(1), ["a:1"]), set(t(1), ["b:1"], { role: "upgrade" })] },
      t(1),
    );
    l = apply(l, { needs: [set(t(2), ["a:2"])] }, t(2));
    expect(l.needs["web|deploy"]!.images.map((i) => i.ref)).toEqual(["a:2"]);
    expect(l.needs["web|upgrade"]!.images.map((i) => i.ref)).toEqual(["b:1"]);
  });

  it("an older set never replaces a newer one; an equally old one does", () => {
    let l = apply(emptyLedger(), { needs: [set(t(5), ["new:1"])] }, t(5));
    l = apply(l, { needs: [set(t(4), ["old:1"])] }, t(6));
    expect(l.needs["web|deploy"]!.images[0]!.ref).toBe("new:1");
    l = apply(l, { needs: [set(t(5), ["same:1"])] }, t(6));
    expect(l.needs["web|deploy"]!.images[0]!.ref).toBe("same:1");
  });
});

describe("applyChange: sightings and gone", () => {
  it("present images are seen now; absent ones are marked gone once, at the first sighting without them", () => {
    let l = apply(emptyLedger(), { sighting: { at: t(1), present: ["sha256:a", "sha256:b"] } }, t(1));
    l = apply(l, { sighting: { at: t(2), present: ["sha256:a"] } }, t(2));
    l = apply(l, { sighting: { at: t(3), present: ["sha256:a"] } }, t(3));
    expect(l.images["sha256:a"]).toMatchObject({ firstSeen: t(1), lastSeen: t(3), gone: null });
    expect(l.images["sha256:b"]).toMatchObject({ lastSeen: t(1), gone: t(2) });
    l = apply(l, { sighting: { at: t(4), present: ["sha256:a", "sha256:b"] } }, t(4));
    expect(l.images["sha256:b"]).toMatchObject({ lastSeen: t(4), gone: null });
  });

  it("a delete event marks a known image gone and ignores an unknown one", () => {
    let l = apply(emptyLedger(), { uses: [use(t(1), "sha256:a")] }, t(1));
    l = apply(
      l,
      {
        gone: [
          { at: t(2), id: "sha256:a" },
          { at: t(2), id: "sha256:zz" },
        ],
      },
      t(2),
    );
    expect(l.images["sha256:a"]!.gone).toBe(t(2));
    expect(l.images["sha256:zz"]).toBeUndefined();
  });
});

describe("applyChange: bounded", () => {
  it("forgets an image gone for longer than the horizon, keeps one gone exactly that long", () => {
    let l = apply(emptyLedger(), { uses: [use(t(0), "sha256:a"), use(t(0), "sha256:b")] }, t(0));
    l = apply(
      l,
      {
        gone: [
          { at: t(1), id: "sha256:a" },
          { at: t(2), id: "sha256:b" },
        ],
      },
      t(2),
    );
    const later = apply(l, {}, t(2) + 10 * H, 10 * H);
    expect(later.images["sha256:a"]).toBeUndefined();
    expect(later.images["sha256:b"]).toBeDefined();
  });

  it("forgets need sets older than the horizon; the default horizon is 30 days", () => {
    let l = apply(
      emptyLedger(),
      {
        needs: [
          {
            at: t(0),
            app: "old",
            role: "deploy",
            recipe: "r",
            version: null,
            versionSource: "chaos",
            images: [],
          },
          {
            at: t(1),
            app: "new",
            role: "deploy",
            recipe: "r",
            version: null,
            versionSource: "chaos",
            images: [],
          },
        ],
      },
      t(1),
    );
    l = apply(l, {}, t(0) + DEFAULT_HORIZON_MS + 1);
    expect(Object.keys(l.needs)).toEqual(["new|deploy"]);
    expect(DEFAULT_HORIZON_MS).toBe(30 * D);
  });

  it("never forgets a present image, however old", () => {
    const l = apply(emptyLedger(), { sighting: { at: t(0), present: ["sha256:a"] } }, t(0));
    expect(apply(l, {}, t(0) + 400 * D).images["sha256:a"]).toBeDefined();
  });
});

describe("applyChange: clock safety", () => {
  it("a change dated in the future is clamped to now", () => {
    const l = apply(
      emptyLedger(),
      {
        uses: [use(t(10), "sha256:a", { app: "w" })],
        arrivals: [{ at: t(11), id: "sha256:b", how: "pull" }],
        needs: [
          { at: t(12), app: "w", role: "r", recipe: "w", version: null, versionSource: "chaos", images: [] },
        ],
      },
      t(5),
    );
    expect(l.images["sha256:a"]).toMatchObject({
      uses: [t(5)],
      firstSeen: t(5),
      lastSeen: t(5),
      by: { w: t(5) },
    });
    expect(l.images["sha256:b"]!.arrived).toBe(t(5));
    expect(l.needs["w|r"]!.at).toBe(t(5));
  });

  it("what was recorded before the clock stepped back is pulled back to now", () => {
    let l = apply(
      emptyLedger(),
      {
        uses: [use(t(8), "sha256:a", { app: "w" }), use(t(9), "sha256:a")],
        arrivals: [{ at: t(9), id: "sha256:a", how: "pull" }],
      },
      t(9),
    );
    l = apply(l, {}, t(7));
    expect(l.images["sha256:a"]).toMatchObject({
      uses: [t(7)],
      arrived: t(7),
      firstSeen: t(7),
      lastSeen: t(7),
      by: { w: t(7) },
    });
  });
});

describe("fromV1", () => {
  it("keeps uses, first sightings and recipes (as apps in the deploy role); drops entries without an ID", () => {
    const l = fromV1({
      version: 1,
      recipes: {
        gitea: { lastPrepull: new Date(t(2)).toISOString(), ref: null, images: ["gitea:1", "x:1"] },
      },
      images: {
        "gitea:1": {
          id: "sha256:g",
          uses: [new Date(t(1)).toISOString(), new Date(t(2)).toISOString()],
          recipes: ["gitea"],
        },
        "x:1": { id: null, uses: [new Date(t(2)).toISOString()], recipes: ["gitea"] },
      },
      firstSeen: { "sha256:g": new Date(t(0)).toISOString() },
    });
    expect(ledgerSchema.parse(l)).toEqual(l);
    expect(l.images).toEqual({
      "sha256:g": {
        refs: ["gitea:1"],
        uses: [t(1), t(2)],
        arrived: null,
        firstSeen: t(0),
        lastSeen: t(2),
        gone: null,
        by: { "gitea|deploy": t(2) },
      },
    });
    expect(l.needs["gitea|deploy"]).toEqual({
      at: t(2),
      app: "gitea",
      role: "deploy",
      recipe: "gitea",
      version: null,
      versionSource: "working-tree",
      images: [
        { ref: "gitea:1", id: "sha256:g" },
        { ref: "x:1", id: null },
      ],
      runs: [t(2)],
    });
  });
});

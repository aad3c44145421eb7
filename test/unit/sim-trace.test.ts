import { describe, expect, it } from "vitest";
import { defaultCapacities } from "../../src/commands/simulate.js";
import { InputError } from "../../src/errors.js";
import { peakDayBytes, traceSummary } from "../../src/sim/compare.js";
import { traceFromLedger } from "../../src/sim/from-ledger.js";
import { DEFAULTS, fakeId, generateTrace, SWEEP_AT_MS, SWEEP_EVERY_MS } from "../../src/sim/generate.js";
import { formatTrace, parseTrace, type TraceRun } from "../../src/sim/trace.js";
import { applyChange, emptyLedger } from "../../src/state/ledger.js";

const GiB = 1024 ** 3;
const DAY = 86_400_000;
const line = (o: Record<string, unknown>) => JSON.stringify(o);
const ok = {
  t: 1000,
  run: "r1",
  app: "a.ci.example",
  recipe: "a",
  kind: "nightly",
  durationS: 600,
  images: [{ ref: "a:1", id: "sha256:a", sizeBytes: 10 }],
};

describe("parseTrace", () => {
  it("reads JSON Lines, skipping blank lines and # comments, and round-trips", () => {
    const text = `# a trace\n${line(ok)}\n\n${line({ ...ok, t: 2000, run: "r2" })}\n`;
    const runs = parseTrace(text, "t.jsonl");
    expect(runs.map((r) => r.run)).toEqual(["r1", "r2"]);
    expect(parseTrace(formatTrace(runs), "again.jsonl")).toEqual(runs);
  });

  it.each([
    ["not JSON", "{nope", /^t\.jsonl:3: not JSON/],
    ["a field missing", line({ ...ok, app: undefined }), /^t\.jsonl:3: "app": /],
    [
      "a mistyped image size",
      line({ ...ok, images: [{ ref: "a:1", id: "x", sizeBytes: "10" }] }),
      /^t\.jsonl:3: "images\.0\.sizeBytes": /,
    ],
    ["an unknown field", line({ ...ok, extra: 1 }), /^t\.jsonl:3: .*extra/],
    [
      "time going backwards",
      line({ ...ok, t: 999 }),
      /^t\.jsonl:3: t 999 is before the previous line's 1000/,
    ],
    [
      "one image with two sizes",
      line({ ...ok, t: 3000, images: [{ ref: "a:1", id: "sha256:a", sizeBytes: 11 }] }),
      /^t\.jsonl:3: image sha256:a has sizeBytes 11 here but 10 earlier/,
    ],
  ])("bad input (%s): an InputError naming the file and line", (_n, bad, message) => {
    const text = `${line(ok)}\n\n${bad}\n`;
    let err: unknown;
    try {
      parseTrace(text, "t.jsonl");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(message);
    expect((err as InputError).file).toBe("t.jsonl");
    expect((err as InputError).hint).toMatch(/docs\/simulate\.md/);
  });
});

describe("generateTrace", () => {
  const small = { seed: 7, days: 14, recipes: 12 };
  const runs = generateTrace(small);

  it("is deterministic per seed, and seeds differ", () => {
    expect(generateTrace(small)).toEqual(runs);
    expect(generateTrace({ ...small, seed: 8 })).not.toEqual(runs);
  });

  it("is in time order with unique run ids", () => {
    expect(runs.map((r) => r.t)).toEqual([...runs].map((r) => r.t).sort((a, b) => a - b));
    expect(new Set(runs.map((r) => r.run)).size).toBe(runs.length);
  });

  it("sweeps every recipe nightly from 02:00, one run every 2 minutes, in a fixed order", () => {
    const nightly = runs.filter((r) => r.kind !== "pr");
    expect(nightly).toHaveLength(12 * 14);
    const day3 = nightly.filter((r) => r.run.startsWith("n3-"));
    const start = DEFAULTS.start + 2 * DAY;
    expect(day3.map((r) => r.t)).toEqual(day3.map((_, i) => start + SWEEP_AT_MS + i * SWEEP_EVERY_MS));
    expect(day3.map((r) => r.recipe)).toEqual([...day3.map((r) => r.recipe)].sort());
  });

  it("the upgrade tier needs the previous version (role deploy) and the current one (role upgrade)", () => {
    const up = runs.filter((r) => r.kind === "upgrade");
    expect(up.length).toBe(Math.round(12 * DEFAULTS.upgradeTier) * 14);
    for (const r of up) {
      expect(new Set(r.images.map((i) => i.role))).toEqual(new Set(["deploy", "upgrade"]));
      const app = (role: string) => r.images.filter((i) => i.role === role && !/^[a-z]+:\d/.test(i.ref));
      expect(app("deploy").map((i) => i.id)).not.toEqual(app("upgrade").map((i) => i.id));
    }
  });

  it("pull requests run on weekdays between 08:00 and 18:00 (pushes may follow later), under their own apps", () => {
    const prs = runs.filter((r) => r.kind === "pr");
    expect(prs.length).toBeGreaterThan(0);
    const first = prs.filter((r) => r.run.endsWith("-1"));
    for (const r of first) {
      const day = Math.floor((r.t - DEFAULTS.start) / DAY);
      const hour = ((r.t - DEFAULTS.start) % DAY) / 3_600_000;
      expect(day % 7).toBeLessThan(5);
      expect(hour).toBeGreaterThanOrEqual(8);
      expect(hour).toBeLessThan(18);
    }
    expect(prs.every((r) => r.app.startsWith("pr"))).toBe(true);
  });

  it("realistic sizes and lengths: 10 MB–1 GB images, runs of about 10 minutes, shared services", () => {
    const sizes = runs.flatMap((r) => r.images.map((i) => i.sizeBytes));
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(10e6 * 0.9);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1e9 * 1.1);
    const durations = runs.map((r) => r.durationS / 60);
    expect(Math.min(...durations)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...durations)).toBeLessThanOrEqual(15);
    const mean = durations.reduce((a, b) => a + b, 0) / durations.length;
    expect(mean).toBeGreaterThan(8);
    expect(mean).toBeLessThan(11);
    // A service image (e.g. postgres:15.2) used by more than one recipe.
    const users = new Map<string, Set<string>>();
    for (const r of runs)
      for (const i of r.images)
        if (/^[a-z]+:\d/.test(i.ref)) users.set(i.id, (users.get(i.id) ?? new Set()).add(r.recipe));
    expect(Math.max(...[...users.values()].map((s) => s.size))).toBeGreaterThan(1);
  });

  it("versions move: some recipe's nightly images change over the days", () => {
    const byRecipe = new Map<string, Set<string>>();
    for (const r of runs.filter((x) => x.kind === "nightly"))
      byRecipe.set(r.recipe, new Set([...(byRecipe.get(r.recipe) ?? []), r.images.map((i) => i.id).join()]));
    expect([...byRecipe.values()].some((s) => s.size > 1)).toBe(true);
  });

  it("sizeScale scales every image", () => {
    const big = generateTrace({ ...small, sizeScale: 2 });
    expect(big[0]!.images[0]!.sizeBytes).toBeCloseTo(runs[0]!.images[0]!.sizeBytes * 2, -2);
  });

  it("the default trace is the issue's: 60 recipes over 90 days, a working set near 50 GiB a day", () => {
    expect([DEFAULTS.recipes, DEFAULTS.days]).toEqual([60, 90]);
    expect(fakeId("x")).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe("trace summary and default capacities", () => {
  const r = (t: number, ids: [string, number][]): TraceRun => ({
    t,
    run: `r${t}`,
    app: "a",
    recipe: "a",
    kind: "k",
    durationS: 0,
    images: ids.map(([id, sizeBytes]) => ({ ref: id, id, sizeBytes })),
  });
  it("peakDayBytes: the distinct bytes of the busiest 24 hours", () => {
    const runs = [
      r(0, [["a", 10]]),
      r(DAY - 1, [["b", 20]]),
      r(DAY, [
        ["c", 40],
        ["a", 10],
      ]),
      r(3 * DAY, [["d", 5]]),
    ];
    // [0, DAY): a b = 30; [DAY-1, 2DAY-1): b c a = 70; [DAY, 2DAY): c a = 50.
    expect(peakDayBytes(runs)).toBe(70);
    expect(traceSummary(runs)).toMatchObject({ runs: 4, images: 4, distinctBytes: 75, peakDayBytes: 70 });
  });
  it("default capacities: 50%, 75%, 100% and 125% of the busiest day, in whole GiB", () => {
    expect(defaultCapacities(40 * GiB)).toEqual([20, 30, 40, 50].map((g) => g * GiB));
    expect(defaultCapacities(0)).toEqual([1, 1, 1, 1].map((g) => g * GiB));
  });
});

describe("traceFromLedger", () => {
  const at = (min: number) => Date.UTC(2026, 0, 5, 2, min);
  let l = emptyLedger();
  // Night 1: app a (images x, y) at 02:00, app b (image y) at 02:02; a watch use of z at 02:30.
  l = applyChange(
    l,
    {
      uses: [
        { at: at(0), id: "x", ref: "x:1", app: "a", role: "deploy", source: "prepull" },
        { at: at(0), id: "y", ref: "pg:15", app: "a", role: "upgrade", source: "prepull" },
      ],
      needs: [
        {
          at: at(0),
          app: "a",
          role: "deploy",
          recipe: "ra",
          version: null,
          versionSource: "pinned",
          images: [],
        },
      ],
    },
    at(0),
  );
  l = applyChange(
    l,
    { uses: [{ at: at(2), id: "y", ref: "pg:15", app: "b", role: "deploy", source: "prepull" }] },
    at(2),
  );
  l = applyChange(l, { uses: [{ at: at(30), id: "z", source: "container" }] }, at(30));
  l = applyChange(
    l,
    { sighting: { at: at(31), present: ["x", "y", "z"], sizes: { x: 100, y: 200 } } },
    at(31),
  );

  const t = traceFromLedger(l, { runLengthS: 600, defaultSizeBytes: 7 });

  it("one run per instant of uses, attributed to the app whose last use it was", () => {
    expect(t.runs.map((r) => [r.t, r.app, r.images.map((i) => [i.id, i.sizeBytes, i.role])])).toEqual([
      [
        at(0),
        "a",
        [
          ["x", 100, undefined],
          ["y", 200, "upgrade"],
        ],
      ],
      [at(2), "b", [["y", 200, undefined]]],
      [at(30), "unknown", [["z", 7, undefined]]],
    ]);
    expect(t.runs[0]!.recipe).toBe("ra");
    expect(t.runs.every((r) => r.durationS === 600 && r.kind === "ledger")).toBe(true);
  });

  it("says what it could not know", () => {
    expect(t.unknownSizes).toBe(1);
    expect(t.unknownApps).toBe(1);
  });

  it("is a valid trace", () => {
    expect(parseTrace(formatTrace(t.runs), "x")).toEqual(t.runs);
  });
});

// What Stryker found unpinned in the ledger (v2) after test/unit/ledger.test.ts: clock safety for a
// mix of past and future uses, a late sighting never moving last-seen back, the need-set horizon
// boundary, v1 refs capped, ties among users at the cap, and a damaged file set aside.
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ImageUse } from "../../src/model/use.js";
import { applyChange, emptyLedger, fromV1, readLedger, recordLedger } from "../../src/state/ledger.js";

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

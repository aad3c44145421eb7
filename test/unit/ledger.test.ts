import { describe, expect, it } from "vitest";
import { applyPrepull, applySeen, emptyLedger, MAX_USES } from "../../src/state/ledger.js";

const t = (h: number) => new Date(Date.UTC(2026, 0, 1, h));

describe("applyPrepull", () => {
  it("records the recipe's latest image set and each image's uses", () => {
    let l = applyPrepull(emptyLedger(), {
      at: t(1),
      recipe: "gitea",
      ref: null,
      images: [
        { ref: "gitea:1.21", id: "sha256:a" },
        { ref: "mariadb:11", id: "sha256:m" },
      ],
    });
    l = applyPrepull(l, {
      at: t(2),
      recipe: "gitea",
      ref: "2.0.0",
      images: [
        { ref: "gitea:1.22", id: "sha256:b" },
        { ref: "mariadb:11", id: "sha256:m" },
      ],
    });
    expect(l.recipes.gitea).toEqual({
      lastPrepull: t(2).toISOString(),
      ref: "2.0.0",
      images: ["gitea:1.22", "mariadb:11"],
    });
    expect(l.images["gitea:1.21"]!.uses).toEqual([t(1).toISOString()]);
    expect(l.images["mariadb:11"]!.uses).toEqual([t(1).toISOString(), t(2).toISOString()]);
    expect(l.firstSeen).toEqual({
      "sha256:a": t(1).toISOString(),
      "sha256:m": t(1).toISOString(),
      "sha256:b": t(2).toISOString(),
    });
  });
  it("keeps at most MAX_USES uses, the newest", () => {
    let l = emptyLedger();
    for (let h = 0; h < MAX_USES + 5; h++)
      l = applyPrepull(l, { at: t(h), recipe: "r", ref: null, images: [{ ref: "x:1", id: null }] });
    expect(l.images["x:1"]!.uses).toHaveLength(MAX_USES);
    expect(l.images["x:1"]!.uses[0]).toBe(t(5).toISOString());
  });
  it("does not change its input", () => {
    const l = emptyLedger();
    applyPrepull(l, { at: t(1), recipe: "r", ref: null, images: [{ ref: "x:1", id: "sha256:x" }] });
    expect(l).toEqual(emptyLedger());
  });
});

describe("applySeen", () => {
  it("records first sightings only", () => {
    const l = applySeen(applySeen(emptyLedger(), ["sha256:a"], t(1)), ["sha256:a", "sha256:b"], t(2));
    expect(l.firstSeen).toEqual({ "sha256:a": t(1).toISOString(), "sha256:b": t(2).toISOString() });
  });
});

import { describe, expect, it } from "vitest";
import type { LedgerChange } from "../../../src/model/use.js";
import { Batch, mergeChanges, sizeOf } from "../../../src/watch/batch.js";
import type { Position } from "../../../src/watch/position.js";

const use = (at: number, id = "sha256:a"): LedgerChange => ({ uses: [{ at, id, source: "container" }] });
const pos = (n: number): Position => ({ timeNano: String(n), seen: [`k${n}`] });

describe("mergeChanges", () => {
  it("keeps every observation of both, and the later sighting", () => {
    const a: LedgerChange = {
      uses: [{ at: 1, id: "i", source: "container" }],
      gone: [{ at: 2, id: "g" }],
      sighting: { at: 10, present: ["x"] },
    };
    const b: LedgerChange = {
      uses: [{ at: 3, id: "j", source: "container" }],
      arrivals: [{ at: 4, id: "k", how: "pull" }],
      sighting: { at: 9, present: ["y"] },
    };
    const m = mergeChanges(a, b);
    expect(m.uses?.map((u) => u.id)).toEqual(["i", "j"]);
    expect(m.arrivals).toHaveLength(1);
    expect(m.gone).toHaveLength(1);
    expect(m.needs).toBeUndefined();
    expect(m.sighting?.at).toBe(10);
    expect(mergeChanges(b, a).sighting?.at).toBe(10);
    expect(mergeChanges({}, {})).toEqual({});
    expect(sizeOf(m)).toBe(4);
  });
});

describe("Batch", () => {
  const opts = { flushMs: 2000, maxObservations: 3 };

  it("is due one interval after its oldest event, however many follow", () => {
    const b = new Batch(opts);
    expect(b.dueIn(0)).toBeUndefined();
    b.add(use(1), pos(1), 1000);
    expect(b.dueIn(1000)).toBe(2000);
    b.add(use(2, "sha256:b"), pos(2), 2500);
    // The later event does not push the write back.
    expect(b.dueIn(2500)).toBe(500);
    expect(b.dueIn(2999)).toBe(1);
    expect(b.dueIn(3000)).toBe(0);
    expect(b.dueIn(9000)).toBe(0);
  });

  it("is due at once when full", () => {
    const b = new Batch(opts);
    b.add(use(1), pos(1), 0);
    b.add(use(2), pos(2), 0);
    expect(b.dueIn(0)).toBe(2000);
    b.add(use(3), pos(3), 0);
    expect(b.dueIn(0)).toBe(0);
  });

  it("counts events without observations (an image gone before it was looked up) and keeps their position", () => {
    const b = new Batch(opts);
    b.add({}, pos(7), 0);
    expect(b.pending).toBe(1);
    expect(b.dueIn(0)).toBe(2000);
    expect(b.take()).toEqual({ change: {}, position: pos(7), events: 1 });
  });

  it("take empties it; the position is the last event's", () => {
    const b = new Batch(opts);
    b.add(use(1), pos(1), 0);
    b.add(use(2), pos(2), 10);
    const t = b.take()!;
    expect(t.events).toBe(2);
    expect(t.position).toEqual(pos(2));
    expect(t.change.uses).toHaveLength(2);
    expect(b.take()).toBeUndefined();
    expect(b.dueIn(10)).toBeUndefined();
    expect(b.pending).toBe(0);
  });

  it("a failed write goes back: merged with what came since, the newer position kept", () => {
    const b = new Batch(opts);
    b.add(use(1), pos(1), 0);
    const t = b.take()!;
    b.add(use(2, "sha256:b"), pos(2), 100);
    b.putBack(t, 500);
    expect(b.pending).toBe(2);
    expect(b.dueIn(500)).toBe(2000);
    const again = b.take()!;
    expect(again.position).toEqual(pos(2));
    expect(again.change.uses?.map((u) => u.at).sort()).toEqual([1, 2]);
    // Nothing new since: the taken batch's own position comes back.
    b.add(use(3), pos(3), 0);
    const t3 = b.take()!;
    b.putBack(t3, 0);
    expect(b.take()!.position).toEqual(pos(3));
  });
});

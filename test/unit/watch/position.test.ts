import { describe, expect, it } from "vitest";
import type { EngineEvent } from "../../../src/watch/events.js";
import {
  advance,
  alreadyApplied,
  apiTime,
  eventKey,
  msToNano,
  positionMs,
  resumeSince,
} from "../../../src/watch/position.js";

const ev = (timeNano: bigint, action = "start", actor = "c1", type = "container"): EngineEvent => ({
  type,
  action,
  actor,
  attributes: {},
  timeNano,
  at: Number(timeNano / 1_000_000n),
});

// A real timeNano (beyond 2^53: as a double it would round).
const T = 1796025950417231650n;

describe("apiTime", () => {
  it.each([
    [T, "1796025950.417231650"],
    [1796025950000000001n, "1796025950.000000001"],
    [1796025950000000000n, "1796025950.000000000"],
    [999999999n, "0.999999999"],
    [-5n, "0.000000000"],
  ])("%s → %s", (t, s) => {
    expect(apiTime(t)).toBe(s);
  });

  it("milliseconds become nanoseconds, exactly", () => {
    expect(msToNano(1796025950417)).toBe(1796025950417000000n);
    expect(msToNano(-1)).toBe(0n);
  });
});

describe("resume position", () => {
  it("a first start resumes from its start time; a saved position from its exact nanosecond", () => {
    expect(resumeSince(undefined, 1796025950417)).toBe("1796025950.417000000");
    expect(resumeSince({ timeNano: T.toString(), seen: [] }, 1)).toBe("1796025950.417231650");
  });

  it("skips only the events at exactly the saved time that were already applied (since is inclusive)", () => {
    const p = advance(undefined, ev(T, "create", "c1"));
    expect(p).toEqual({ timeNano: T.toString(), seen: ["container/create/c1"] });
    expect(alreadyApplied(p, ev(T, "create", "c1"))).toBe(true);
    // Another event at the same nanosecond was not applied yet.
    expect(alreadyApplied(p, ev(T, "start", "c1"))).toBe(false);
    expect(alreadyApplied(p, ev(T, "create", "c2"))).toBe(false);
    // One nanosecond later or earlier: a different event (earlier only after a clock step back).
    expect(alreadyApplied(p, ev(T + 1n, "create", "c1"))).toBe(false);
    expect(alreadyApplied(p, ev(T - 1n, "create", "c1"))).toBe(false);
    expect(alreadyApplied(undefined, ev(T))).toBe(false);
  });

  it("advances by stream order, collecting the keys of one nanosecond", () => {
    let p = advance(undefined, ev(T, "create", "c1"));
    p = advance(p, ev(T, "start", "c1"));
    expect(p.seen).toEqual(["container/create/c1", "container/start/c1"]);
    expect(advance(p, ev(T, "start", "c1"))).toBe(p);
    p = advance(p, ev(T + 5n, "pull", "r:1", "image"));
    expect(p).toEqual({ timeNano: (T + 5n).toString(), seen: ["image/pull/r:1"] });
    // After a clock step back the position follows the stream, not the maximum: a restart must
    // not ask for events from the future.
    p = advance(p, ev(T - 60_000_000_000n, "tag", "sha256:x", "image"));
    expect(p.timeNano).toBe((T - 60_000_000_000n).toString());
  });

  it("keys tell type, action and actor apart", () => {
    expect(eventKey(ev(T, "create", "x"))).not.toBe(eventKey(ev(T, "create", "x", "image")));
    expect(eventKey(ev(T, "create", "x"))).not.toBe(eventKey(ev(T, "start", "x")));
  });

  it("positionMs", () => {
    expect(positionMs({ timeNano: T.toString(), seen: [] })).toBe(1796025950417);
  });
});

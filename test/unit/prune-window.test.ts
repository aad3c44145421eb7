import { describe, expect, it } from "vitest";
import { windowState } from "../../src/prune/window.js";

const H = 3_600_000;
// Local time, as the window is read: build dates from local components.
const at = (h: number, m = 0, day = 10) => new Date(2025, 2, day, h, m, 0, 0);

describe("windowState", () => {
  it("no window: always open, nothing scheduled", async () => {
    expect(await windowState(null, H, at(12))).toEqual({
      configured: false,
      open: true,
      openedAt: null,
      closesAt: null,
      nextOpen: null,
    });
  });

  it.each([
    ["exactly at the opening", at(2), true, at(2), at(2, 0, 11)],
    ["inside the window", at(2, 59), true, at(2), at(2, 0, 11)],
    ["at the closing instant", at(3), false, null, at(2, 0, 11)],
    ["before the opening", at(1, 30), false, null, at(2)],
    ["long after", at(14), false, null, at(2, 0, 11)],
  ])("daily 02:00 for 1h, %s", async (_name, now, open, openedAt, nextOpen) => {
    const w = await windowState("0 2 * * *", H, now);
    expect(w.configured).toBe(true);
    expect(w.open).toBe(open);
    expect(w.openedAt).toBe(openedAt ? openedAt.toISOString() : null);
    expect(w.closesAt).toBe(openedAt ? new Date(openedAt.getTime() + H).toISOString() : null);
    expect(w.nextOpen).toBe(nextOpen.toISOString());
  });

  it("a window longer than the period is always open", async () => {
    const w = await windowState("0 * * * *", 2 * H, at(7, 30));
    expect(w.open).toBe(true);
    expect(w.openedAt).toBe(at(7).toISOString());
  });

  it("weekdays only: Saturday is closed until Monday", async () => {
    // 2025-03-15 is a Saturday.
    const w = await windowState("0 2 * * 1-5", H, at(2, 30, 15));
    expect(w.open).toBe(false);
    expect(w.nextOpen).toBe(at(2, 0, 17).toISOString());
  });
});

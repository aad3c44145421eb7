// How `imagekeeper run` reports its child's end: as a shell does.
import { describe, expect, it } from "vitest";
import { exitStatus } from "../../src/util/exit-status.js";

describe("exitStatus", () => {
  it.each([
    [0, undefined, 0],
    [7, undefined, 7],
    [127, undefined, 127],
    [undefined, "SIGHUP", 129],
    [undefined, "SIGINT", 130],
    [undefined, "SIGKILL", 137],
    [undefined, "SIGTERM", 143],
    [undefined, "SIGSEGV", 139],
    [undefined, "SIGNOPE", 1],
    [undefined, undefined, 1],
  ])("code %s, signal %s → %i", (code, signal, want) => {
    expect(exitStatus(code, signal)).toBe(want);
  });
});

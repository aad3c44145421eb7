import { describe, expect, it } from "vitest";
import {
  type ContainerSeen,
  dockerTime,
  lastActivity,
  reconcileChange,
} from "../../../src/watch/reconcile.js";

const NOW = Date.parse("2025-03-01T12:00:00Z");
const c = (over: Partial<ContainerSeen>): ContainerSeen => ({
  id: "c",
  imageId: "sha256:img",
  image: "nginx:1.25",
  state: "exited",
  labels: {},
  createdMs: Date.parse("2025-02-01T00:00:00Z"),
  startedMs: Date.parse("2025-02-20T00:00:00Z"),
  finishedMs: Date.parse("2025-02-21T00:00:00Z"),
  ...over,
});

describe("dockerTime", () => {
  it.each([
    ["0001-01-01T00:00:00Z", null],
    ["", null],
    [undefined, null],
    ["garbage", null],
    ["2025-02-21T00:00:00.123456789Z", Date.parse("2025-02-21T00:00:00.123Z")],
  ])("%s", (s, ms) => {
    expect(dockerTime(s)).toBe(ms);
  });
});

describe("lastActivity", () => {
  it.each([
    ["running: now", c({ state: "running" }), NOW],
    ["paused: now", c({ state: "paused" }), NOW],
    ["restarting: now", c({ state: "restarting" }), NOW],
    ["exited: when it finished", c({}), Date.parse("2025-02-21T00:00:00Z")],
    [
      "dead: the latest of its times",
      c({ state: "dead", finishedMs: null }),
      Date.parse("2025-02-20T00:00:00Z"),
    ],
    [
      "created, never started: when created",
      c({ state: "created", startedMs: null, finishedMs: null }),
      Date.parse("2025-02-01T00:00:00Z"),
    ],
    [
      "no time known: nothing",
      c({ state: "created", createdMs: null, startedMs: null, finishedMs: null }),
      null,
    ],
  ])("%s", (_n, container, at) => {
    expect(lastActivity(container, NOW)).toBe(at);
  });
});

describe("reconcileChange", () => {
  it("a use per container (its stack as the app), and a sighting of every image", () => {
    const ch = reconcileChange(
      [
        c({ id: "a", state: "running", labels: { "com.docker.stack.namespace": "app_example_org" } }),
        c({ id: "b", imageId: "sha256:other", image: "sha256:other" }),
        c({ id: "z", state: "created", createdMs: null, startedMs: null, finishedMs: null }),
      ],
      ["sha256:img", "sha256:other", "sha256:unused"],
      NOW,
    );
    expect(ch.uses).toEqual([
      { at: NOW, id: "sha256:img", ref: "nginx:1.25", app: "app_example_org", source: "reconcile" },
      {
        at: Date.parse("2025-02-21T00:00:00Z"),
        id: "sha256:other",
        ref: undefined,
        app: undefined,
        source: "reconcile",
      },
    ]);
    expect(ch.sighting).toEqual({ at: NOW, present: ["sha256:img", "sha256:other", "sha256:unused"] });
  });
});

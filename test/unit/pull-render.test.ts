// What a person reads of a prepull (src/pull/render.ts), written out in full: the line per image
// for each action (present, pulled after one and several attempts, failed with a class and its
// `fix:` line or stopped without one, not attempted with and without a reason, a warning), the
// TTY line vs the pino record (level, message, fields, hint) off a terminal, the summary's counts,
// error classes, recipe@ref and verdict, and the --dry-run plan listing.
import { afterEach, describe, expect, it } from "vitest";
import { initLogger, setLogWriter, settingsFromEnv } from "../../src/log.js";
import type { PlannedImage } from "../../src/pull/plan.js";
import { plannedImage } from "../support/planned-image.js";
import { imageLine, planText, reportResult, summary } from "../../src/pull/render.js";
import type { ImageResult, PrepullReport } from "../../src/pull/report.js";

const D1 = `sha256:${"1".repeat(64)}`;
const ID = `sha256:${"a".repeat(64)}`;

const result = (over: Partial<ImageResult>): ImageResult => ({
  ref: "nginx:1.27",
  service: "web",
  file: "compose.yml",
  action: "present",
  attempts: 0,
  durationMs: 0,
  ...over,
});

const NOT_FOUND_FIX =
  "That tag or digest does not exist in the registry: check the image in the compose file and the version in the app .env.";

describe("imageLine: one line (and its detail lines) per image", () => {
  it.each<[string, Partial<ImageResult>, string]>([
    ["present", { action: "present", id: ID }, "= present       nginx:1.27  (web in compose.yml)"],
    [
      "present, another service and file",
      { action: "present", ref: "redis:7", service: "cache", file: "compose.redis.yml" },
      "= present       redis:7  (cache in compose.redis.yml)",
    ],
    [
      "pulled in one attempt: the time only",
      { action: "pulled", attempts: 1, durationMs: 1234 },
      "+ pulled        nginx:1.27  (web in compose.yml) 1.2s",
    ],
    [
      "pulled in two attempts",
      { action: "pulled", attempts: 2, durationMs: 250 },
      "+ pulled        nginx:1.27  (web in compose.yml) 250ms, 2 attempts",
    ],
    [
      "pulled in three attempts",
      { action: "pulled", attempts: 3, durationMs: 65_000 },
      "+ pulled        nginx:1.27  (web in compose.yml) 1m5s, 3 attempts",
    ],
    [
      "failed with a class: the class, docker's message, the fix",
      { action: "failed", attempts: 1, errorClass: "not-found", error: "manifest unknown" },
      `x failed        nginx:1.27  (web in compose.yml)\n      not-found: manifest unknown\n      fix: ${NOT_FOUND_FIX}`,
    ],
    [
      "failed without a class (stopped), with a message: no fix line",
      { action: "failed", attempts: 1, error: "the prepull was stopped" },
      "x failed        nginx:1.27  (web in compose.yml)\n      stopped: the prepull was stopped",
    ],
    [
      "failed without a class or a message",
      { action: "failed" },
      "x failed        nginx:1.27  (web in compose.yml)\n      stopped: ",
    ],
    [
      "not attempted, with the reason",
      { action: "not-attempted", error: "interrupted by SIGTERM" },
      "- not-attempted nginx:1.27  (web in compose.yml): interrupted by SIGTERM",
    ],
    [
      "not attempted, no reason (a dry run)",
      { action: "not-attempted", reason: "would pull: mutable tag" },
      "- not-attempted nginx:1.27  (web in compose.yml)",
    ],
    [
      "not attempted with a reason and a warning: the reason only",
      { action: "not-attempted", error: "not started", warning: "registry unreachable" },
      "- not-attempted nginx:1.27  (web in compose.yml): not started",
    ],
    [
      "not attempted, no reason, with a warning",
      { action: "not-attempted", warning: "registry unreachable" },
      "- not-attempted nginx:1.27  (web in compose.yml)\n      warning: registry unreachable",
    ],
    [
      "present with a warning",
      { action: "present", warning: "the registry could not be asked; the local image is used" },
      "= present       nginx:1.27  (web in compose.yml)\n      warning: the registry could not be asked; the local image is used",
    ],
    [
      "present carrying an error field: only a not-attempted image shows one inline",
      { action: "present", error: "stray" },
      "= present       nginx:1.27  (web in compose.yml)",
    ],
  ])("%s", (_name, over, expected) => {
    expect(imageLine(result(over))).toBe(expected);
  });
});

describe("reportResult: the line on a TTY, a pino record otherwise", () => {
  const records: string[] = [];
  const capture = () => {
    records.length = 0;
    setLogWriter((t) => records.push(t));
    initLogger({ ...settingsFromEnv({}), format: "json", level: "info", quiet: false, journal: false });
  };
  afterEach(() => {
    setLogWriter(undefined);
    initLogger(settingsFromEnv());
  });
  const parsed = () => records.map((l) => JSON.parse(l) as Record<string, unknown>);

  it.each<[string, Partial<ImageResult>, string]>([
    ["present", { action: "present" }, "= present       nginx:1.27  (web in compose.yml)\n"],
    [
      "failed",
      { action: "failed", attempts: 1, errorClass: "not-found", error: "manifest unknown" },
      `x failed        nginx:1.27  (web in compose.yml)\n      not-found: manifest unknown\n      fix: ${NOT_FOUND_FIX}\n`,
    ],
  ])("TTY, %s: the line, and no log record", (_name, over, expected) => {
    capture();
    const out: string[] = [];
    reportResult(result(over), true, (s) => out.push(s));
    expect(out).toEqual([expected]);
    expect(records).toEqual([]);
  });

  it.each<[string, Partial<ImageResult>, Record<string, unknown>]>([
    [
      "pulled: info",
      { action: "pulled", attempts: 2, durationMs: 900, id: ID, digest: D1 },
      {
        level: 30,
        msg: "image pulled",
        ref: "nginx:1.27",
        service: "web",
        file: "compose.yml",
        action: "pulled",
        attempts: 2,
        durationMs: 900,
        id: ID,
        digest: D1,
      },
    ],
    [
      "present: info",
      { action: "present", id: ID },
      {
        level: 30,
        msg: "image present",
        ref: "nginx:1.27",
        service: "web",
        file: "compose.yml",
        action: "present",
        attempts: 0,
        durationMs: 0,
        id: ID,
      },
    ],
    [
      "failed with a class: error, with the class's fix as the hint",
      { action: "failed", attempts: 3, durationMs: 1500, errorClass: "not-found", error: "manifest unknown" },
      {
        level: 50,
        msg: "image failed",
        ref: "nginx:1.27",
        service: "web",
        file: "compose.yml",
        action: "failed",
        attempts: 3,
        durationMs: 1500,
        errorClass: "not-found",
        error: "manifest unknown",
        hint: NOT_FOUND_FIX,
      },
    ],
    [
      "failed without a class: error, no hint",
      { action: "failed", error: "interrupted by SIGINT" },
      {
        level: 50,
        msg: "image failed",
        ref: "nginx:1.27",
        service: "web",
        file: "compose.yml",
        action: "failed",
        attempts: 0,
        durationMs: 0,
        error: "interrupted by SIGINT",
      },
    ],
    [
      "failed with a warning: still an error",
      { action: "failed", errorClass: "not-found", error: "manifest unknown", warning: "w" },
      {
        level: 50,
        msg: "image failed",
        ref: "nginx:1.27",
        service: "web",
        file: "compose.yml",
        action: "failed",
        attempts: 0,
        durationMs: 0,
        errorClass: "not-found",
        error: "manifest unknown",
        hint: NOT_FOUND_FIX,
      },
    ],
    [
      "present with a warning: warn",
      { action: "present", id: ID, warning: "registry unreachable" },
      {
        level: 40,
        msg: "image present, with a warning",
        ref: "nginx:1.27",
        service: "web",
        file: "compose.yml",
        action: "present",
        attempts: 0,
        durationMs: 0,
        id: ID,
        warning: "registry unreachable",
      },
    ],
    [
      "not attempted with a reason: info",
      { action: "not-attempted", error: "not started" },
      {
        level: 30,
        msg: "image not-attempted",
        ref: "nginx:1.27",
        service: "web",
        file: "compose.yml",
        action: "not-attempted",
        attempts: 0,
        durationMs: 0,
        error: "not started",
      },
    ],
  ])("not a TTY, %s; nothing written", (_name, over, expected) => {
    capture();
    const out: string[] = [];
    reportResult(result(over), false, (s) => out.push(s));
    expect(out).toEqual([]);
    const recs = parsed();
    expect(recs).toHaveLength(1);
    const { time: _t, pid: _p, ...rest } = recs[0]!;
    expect(rest).toEqual(expected);
  });
});

describe("summary: counts, error classes, recipe@ref, duration, verdict", () => {
  const rep = (over: Partial<PrepullReport>): PrepullReport => ({ ok: true, images: [], ...over });
  it.each<[string, Partial<PrepullReport>, string]>([
    ["empty, nothing named", {}, "prepull: 0 images, 0 present, 0 pulled, 0 failed in 0ms: ok"],
    [
      "recipe and ref, all ok",
      {
        recipe: "gitea",
        ref: "1.2.0+1.21",
        durationMs: 4500,
        images: [
          result({ action: "present" }),
          result({ action: "pulled", attempts: 1 }),
          result({ action: "pulled", attempts: 1 }),
        ],
      },
      "prepull gitea@1.2.0+1.21: 3 images, 1 present, 2 pulled, 0 failed in 4.5s: ok",
    ],
    [
      "recipe, null ref",
      { recipe: "gitea", ref: null, durationMs: 800, images: [result({ action: "present" })] },
      "prepull gitea: 1 image, 1 present, 0 pulled, 0 failed in 800ms: ok",
    ],
    [
      "failures: distinct classes in first-seen order, not attempted counted",
      {
        ok: false,
        recipe: "gitea",
        durationMs: 65_000,
        images: [
          result({ action: "present" }),
          result({ action: "present" }),
          result({ action: "present" }),
          result({ action: "pulled", attempts: 1 }),
          result({ action: "pulled", attempts: 2 }),
          result({ action: "failed", errorClass: "network", error: "e" }),
          result({ action: "failed", errorClass: "not-found", error: "e" }),
          result({ action: "failed", errorClass: "network", error: "e" }),
          result({ action: "failed", error: "stopped" }),
          result({ action: "not-attempted", error: "interrupted by SIGTERM" }),
        ],
      },
      "prepull gitea: 10 images, 3 present, 2 pulled, 4 failed, 1 not attempted (network, not-found) in 1m5s: FAILED",
    ],
    [
      "failed without a class: no class list",
      { ok: false, recipe: "r", durationMs: 10, images: [result({ action: "failed", error: "stopped" })] },
      "prepull r: 1 image, 0 present, 0 pulled, 1 failed in 10ms: FAILED",
    ],
    [
      "two not attempted",
      {
        ok: false,
        recipe: "r",
        images: [result({ action: "not-attempted" }), result({ action: "not-attempted" })],
      },
      "prepull r: 2 images, 0 present, 0 pulled, 0 failed, 2 not attempted in 0ms: FAILED",
    ],
  ])("%s", (_name, over, expected) => {
    expect(summary(rep(over))).toBe(expected);
  });
});

describe("planText: the --dry-run listing", () => {
  const planned = plannedImage;

  it.each<[string, PlannedImage[], string]>([
    ["no images", [], ""],
    ["a pull", [planned("nginx:latest", {})], "pull  nginx:latest  (web in compose.yml): mutable tag"],
    [
      "a skip with the digest the deploy pins",
      [planned("redis:7", { action: "skip", service: "cache", reason: "pinned tag present", digest: D1 })],
      `skip  redis:7  (cache in compose.yml): pinned tag present  [${D1}]`,
    ],
    [
      "a skip with a warning, then a pull: one entry per line",
      [
        planned("redis:7", { action: "skip", reason: "present", warning: "registry unreachable" }),
        planned("nginx:1.27", { file: "compose.nginx.yml", reason: "missing" }),
      ],
      "skip  redis:7  (web in compose.yml): present\n      warning: registry unreachable\npull  nginx:1.27  (web in compose.nginx.yml): missing",
    ],
  ])("%s", (_name, plan, expected) => {
    expect(planText(plan)).toBe(expected);
  });
});

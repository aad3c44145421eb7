// The config file at its boundary: every default, every bound (accepted at the bound, rejected one
// step past it), the watermark order, unknown keys rejected at every level (a typo must not be
// silently ignored), the cron shape, and where the file comes from. Expectations are written out,
// never read back from the schema under test.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fileExists, loadConfig, parseConfig, SYSTEM_CONFIG } from "../../src/config/load.js";
import { configSchema } from "../../src/config/schema.js";
import { InputError } from "../../src/errors.js";

const H = 3_600_000;
const ok = (raw: unknown) => configSchema.safeParse(raw).success;
/** The issues zod reports, as "path: message". */
const issues = (raw: unknown) => {
  const r = configSchema.safeParse(raw);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("defaults", () => {
  it("{} is a complete config", () => {
    const c = configSchema.parse({});
    expect(c.prepull.mutableTags).toBeUndefined();
    expect(c).toMatchObject({
      logFormat: "human",
      stateDir: "/var/lib/imagekeeper",
      runDir: "/run/imagekeeper",
      docker: "docker",
      logLevel: "info",
      prepull: {
        concurrency: 3,
        pullPolicy: "auto",
        retries: 4,
        backoffBase: 2000,
        backoffCap: 30_000,
        timeout: 30 * 60_000,
      },
      prune: {
        highWatermarkPercent: 95,
        lowWatermarkPercent: 85,
        criticalWatermarkPercent: 98,
        minFree: 4 * 1024 ** 3,
        maxFree: 8 * 1024 ** 3,
        reservation: 15 * 60_000,
        minAge: 24 * H,
        keep: [],
        window: null,
        windowDuration: H,
        buildCache: false,
        chunkSize: 1,
        beforeRuns: true,
        gapWait: 15 * 60_000,
      },
      lease: { wait: 20 * 60_000, ttl: 6 * H },
      ledger: { horizon: 30 * 24 * H },
      metrics: { textfile: null },
    });
  });
});

describe("bounds", () => {
  it.each([
    // [section, key, lowest accepted, highest accepted]
    ["prepull", "concurrency", 1, 32],
    ["prepull", "retries", 1, 20],
    ["prune", "chunkSize", 1, 50],
  ] as const)("%s.%s: integers %i to %i", (section, key, lo, hi) => {
    expect(ok({ [section]: { [key]: lo } })).toBe(true);
    expect(ok({ [section]: { [key]: hi } })).toBe(true);
    expect(ok({ [section]: { [key]: lo - 1 } })).toBe(false);
    expect(ok({ [section]: { [key]: hi + 1 } })).toBe(false);
    expect(ok({ [section]: { [key]: lo + 0.5 } })).toBe(false);
  });

  it("retries: 0 is rejected (1 means no retry)", () => {
    expect(issues({ prepull: { retries: 0 } })).toHaveLength(1);
    expect(issues({ prepull: { retries: 0 } })[0]).toMatch(/^prepull\.retries: /);
  });

  it.each([
    // Each row moves one watermark to a bound; the others sit where only that bound can fail.
    [{ lowWatermarkPercent: 1, highWatermarkPercent: 2, criticalWatermarkPercent: 3 }, []],
    [{ lowWatermarkPercent: 0.99, highWatermarkPercent: 2 }, ["prune.lowWatermarkPercent"]],
    [{ lowWatermarkPercent: 98, highWatermarkPercent: 99, criticalWatermarkPercent: 100 }, []],
    [{ criticalWatermarkPercent: 100.01 }, ["prune.criticalWatermarkPercent"]],
    [
      { criticalWatermarkPercent: 100.01, highWatermarkPercent: 100.01 },
      ["prune.highWatermarkPercent", "prune.criticalWatermarkPercent"],
    ],
  ])("watermarks %j: percentages from 1 to 100; issues at %j", (prune, keys) => {
    const found = issues({ prune }).map((i) => i.split(":")[0]);
    expect(found).toEqual(keys);
  });

  it.each([
    ["stateDir", ""],
    ["runDir", ""],
    ["docker", ""],
  ])("%s may not be empty", (key, value) => {
    expect(ok({ [key]: value })).toBe(false);
    expect(ok({ [key]: "x" })).toBe(true);
  });

  it("list entries may not be empty", () => {
    expect(ok({ prune: { keep: [""] } })).toBe(false);
    expect(ok({ prune: { keep: ["x"] } })).toBe(true);
    expect(ok({ prepull: { mutableTags: [""] } })).toBe(false);
    expect(ok({ prepull: { mutableTags: ["x"] } })).toBe(true);
    expect(ok({ prepull: { mutableTags: [] } })).toBe(true);
  });

  it("metrics.textfile: a path or null, not empty", () => {
    expect(ok({ metrics: { textfile: "/var/lib/node_exporter/imagekeeper.prom" } })).toBe(true);
    expect(ok({ metrics: { textfile: null } })).toBe(true);
    expect(ok({ metrics: { textfile: "" } })).toBe(false);
  });

  it.each([
    ["logLevel", ["trace", "debug", "info", "warn", "error"], "fatal"],
    ["pullPolicy", ["auto", "missing", "always"], "never"],
  ])("%s: one of its values", (key, values, bad) => {
    const wrap = (v: string) => (key === "pullPolicy" ? { prepull: { pullPolicy: v } } : { logLevel: v });
    for (const v of values) expect(ok(wrap(v))).toBe(true);
    expect(ok(wrap(bad))).toBe(false);
  });

  it("booleans are booleans", () => {
    expect(ok({ prune: { buildCache: true, beforeRuns: false } })).toBe(true);
    expect(ok({ prune: { buildCache: "yes" } })).toBe(false);
    expect(ok({ prune: { beforeRuns: 1 } })).toBe(false);
  });
});

describe("watermark order", () => {
  it.each([
    [69, 70, 95, true],
    [70, 70, 95, false], // low == high: nothing between them to prune down to
    [71, 70, 95, false],
    [70, 85, 85, true], // high == critical: every pressure is critical
    [70, 86, 85, false],
  ])("low %i, high %i, critical %i: %s", (low, high, critical, valid) => {
    const raw = {
      prune: { lowWatermarkPercent: low, highWatermarkPercent: high, criticalWatermarkPercent: critical },
    };
    expect(ok(raw)).toBe(valid);
  });
  it("says which order is broken", () => {
    expect(issues({ prune: { lowWatermarkPercent: 95 } })).toEqual([
      "prune: prune.lowWatermarkPercent must be below prune.highWatermarkPercent",
    ]);
    expect(issues({ prune: { highWatermarkPercent: 99 } })).toEqual([
      "prune: prune.criticalWatermarkPercent must be at least prune.highWatermarkPercent",
    ]);
  });
});

describe("unknown keys are errors at every level", () => {
  it.each([
    [{ stateDirectory: "/x" }, "stateDirectory"],
    [{ prepull: { retry: 3 } }, "retry"],
    [{ prune: { highWatermark: 80 } }, "highWatermark"],
    [{ prune: { keepPatterns: ["x"] } }, "keepPatterns"],
    [{ lease: { timeout: "1m" } }, "timeout"],
    [{ ledger: { maxAge: "1d" } }, "maxAge"],
    [{ metrics: { file: "/x" } }, "file"],
  ])("%j", (raw, key) => {
    const found = issues(raw);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(key);
  });
});

describe("durations (text forms)", () => {
  it.each([
    [{ prune: { minAge: "90m" } }, ["prune", "minAge"], 90 * 60_000],
    [{ prune: { windowDuration: "2h" } }, ["prune", "windowDuration"], 2 * H],
    [{ prune: { gapWait: "30s" } }, ["prune", "gapWait"], 30_000],
    [{ prepull: { backoffBase: "500ms" } }, ["prepull", "backoffBase"], 500],
    [{ prepull: { backoffCap: "1m" } }, ["prepull", "backoffCap"], 60_000],
    [{ prepull: { timeout: "1h30m" } }, ["prepull", "timeout"], 90 * 60_000],
    [{ lease: { wait: "5m" } }, ["lease", "wait"], 5 * 60_000],
    [{ lease: { ttl: "1d" } }, ["lease", "ttl"], 24 * H],
    [{ ledger: { horizon: "7d" } }, ["ledger", "horizon"], 7 * 24 * H],
  ])("%j", (raw, [section, key], ms) => {
    const c = configSchema.parse(raw) as unknown as Record<string, Record<string, unknown>>;
    expect(c[section!]![key!]).toBe(ms);
  });
  it("a text that is no duration is an error naming the key", () => {
    expect(issues({ prune: { minAge: "a day" } })).toEqual([
      'prune.minAge: "a day" is not a duration; write e.g. "90s", "10m", "24h", "1h30m", or a number of seconds',
    ]);
  });
});

describe("prune.window: cron shape", () => {
  it.each([
    ["0 2 * * *", true],
    ["30 12 1,15 * 1-5", true],
    ["  0 2 * * *  ", true],
    ["0 0 2 * * *", true], // six fields: seconds first (cron-parser)
    ["0\t2 * *  *", true],
    ["2 * * *", false],
    ["0 0 0 2 * * *", false],
    ["", false],
    ["daily", false],
  ])("%j: %s", (expr, valid) => {
    expect(ok({ prune: { window: expr } })).toBe(valid);
  });
  it("says how to write one", () => {
    expect(issues({ prune: { window: "daily" } })).toEqual([
      'prune.window: not a cron expression; write five fields, e.g. "0 2 * * *" for every day at 02:00',
    ]);
  });
});

describe("parseConfig", () => {
  it("names the file, each bad key by its path, and the fix", () => {
    try {
      parseConfig({ prune: { chunkSize: 0, highWatermark: 1 }, bogus: true }, "/etc/ik.json");
      expect.unreachable();
    } catch (e) {
      const err = e as InputError;
      expect(err).toBeInstanceOf(InputError);
      expect(err.kind).toBe("config");
      expect(err.file).toBe("/etc/ik.json");
      expect(err.message).toMatch(/^the config file \/etc\/ik\.json is invalid: /);
      expect(err.message).toContain("prune.chunkSize: ");
      expect(err.message).toContain("(top level): ");
      expect(err.message).toContain("bogus");
      expect(err.message.split("; ").length).toBeGreaterThanOrEqual(3);
      expect(err.hint).toMatch(/imagekeeper config check --config FILE/);
    }
  });
  it("without a file it still says what is wrong", () => {
    try {
      parseConfig({ logLevel: "loud" }, undefined);
      expect.unreachable();
    } catch (e) {
      const err = e as InputError;
      expect(err.file).toBeUndefined();
      expect(err.message).toMatch(/^the config {2}is invalid: logLevel: /);
    }
  });
  it("returns the parsed config", () => {
    expect(parseConfig({ prune: { chunkSize: 3 } }, "/x").prune.chunkSize).toBe(3);
  });
});

describe("loadConfig: where the config comes from", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ik-config-"));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const a = file("a.json", JSON.stringify({ docker: "docker-a" }));
  const b = file("b.json", JSON.stringify({ docker: "docker-b" }));
  const never = () => false;

  it("--config beats $IMAGEKEEPER_CONFIG", async () => {
    const r = await loadConfig(a, { IMAGEKEEPER_CONFIG: b }, never);
    expect([r.path, r.config.docker]).toEqual([a, "docker-a"]);
  });
  it("$IMAGEKEEPER_CONFIG beats the system file", async () => {
    const r = await loadConfig(undefined, { IMAGEKEEPER_CONFIG: b }, () => true);
    expect([r.path, r.config.docker]).toEqual([b, "docker-b"]);
  });
  it("the system file when it exists", async () => {
    const seen: string[] = [];
    const r = loadConfig(undefined, {}, (p) => {
      seen.push(p);
      return true;
    });
    // This machine has no /etc/imagekeeper/config.json: reading it fails, naming it.
    await expect(r).rejects.toThrow(`cannot read the config file ${SYSTEM_CONFIG}`);
    expect(seen).toEqual(["/etc/imagekeeper/config.json"]);
  });
  it("the system file counts as there when it can be read (the default of `exists`)", () => {
    expect(fileExists(a)).toBe(true);
    expect(fileExists(path.join(dir, "missing.json"))).toBe(false);
    // A directory at the path is no config file.
    expect(fileExists(dir)).toBe(false);
  });
  it("else defaults, with no path", async () => {
    const r = await loadConfig(undefined, {}, never);
    expect(r.path).toBeUndefined();
    expect(r.config.docker).toBe("docker");
  });
  it("environment variables beat the file for the directories and the docker client", async () => {
    const c = file("dirs.json", JSON.stringify({ stateDir: "/s", runDir: "/r", docker: "d" }));
    const plain = await loadConfig(c, {}, never);
    expect([plain.config.stateDir, plain.config.runDir, plain.config.docker]).toEqual(["/s", "/r", "d"]);
    const r = await loadConfig(
      c,
      { IMAGEKEEPER_STATE_DIR: "/S", IMAGEKEEPER_RUN_DIR: "/R", IMAGEKEEPER_DOCKER: "D" },
      never,
    );
    expect([r.config.stateDir, r.config.runDir, r.config.docker]).toEqual(["/S", "/R", "D"]);
    const empty = await loadConfig(
      c,
      { IMAGEKEEPER_STATE_DIR: "", IMAGEKEEPER_RUN_DIR: "", IMAGEKEEPER_DOCKER: "" },
      never,
    );
    expect([empty.config.stateDir, empty.config.runDir, empty.config.docker]).toEqual(["/s", "/r", "d"]);
  });
  it("an unreadable file is bad input naming it", async () => {
    const missing = path.join(dir, "missing.json");
    const e = (await loadConfig(missing, {}, never).catch((x: unknown) => x)) as InputError;
    expect(e).toBeInstanceOf(InputError);
    expect([e.kind, e.file]).toEqual(["config", missing]);
    expect(e.message).toMatch(new RegExp(`^cannot read the config file ${missing}: ENOENT`));
    expect(e.hint).toMatch(/--config/);
  });
  it("a file that is not JSON is bad input naming it", async () => {
    const bad = file("bad.json", "{ prune: }");
    const e = (await loadConfig(bad, {}, never).catch((x: unknown) => x)) as InputError;
    expect([e.kind, e.file]).toEqual(["config", bad]);
    expect(e.message).toMatch(new RegExp(`^the config file ${bad} is not valid JSON: `));
    expect(e.hint).toMatch(/JSON object/);
  });
  it("an invalid schema is reported against the file", async () => {
    const bad = file("schema.json", JSON.stringify({ prune: { chunkSize: 0 } }));
    const e = (await loadConfig(bad, {}, never).catch((x: unknown) => x)) as InputError;
    expect(e.file).toBe(bad);
    expect(e.message).toContain("prune.chunkSize");
  });
  it("a window of cron shape that cron-parser rejects is bad input naming the file", async () => {
    const bad = file("cron.json", JSON.stringify({ prune: { window: "61 2 * * *" } }));
    const e = (await loadConfig(bad, {}, never).catch((x: unknown) => x)) as InputError;
    expect(e).toBeInstanceOf(InputError);
    expect([e.kind, e.file]).toEqual(["config", bad]);
    expect(e.message).toMatch(
      new RegExp(`^prune.window "61 2 \\* \\* \\*" in ${bad} is not a cron expression: `),
    );
    expect(e.hint).toBe('Fix prune.window: write five fields, e.g. "0 2 * * *" for every day at 02:00.');
    const good = file("cron-ok.json", JSON.stringify({ prune: { window: "0 2 * * *" } }));
    expect((await loadConfig(good, {}, never)).config.prune.window).toBe("0 2 * * *");
  });
});

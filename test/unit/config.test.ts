import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { configFileOf, configSchema } from "../../src/config/schema.js";

describe("config durations", () => {
  it("accepts a number of seconds where the docs say a bare number is seconds", () => {
    const c = parseConfig({ prune: { minAge: 3600 }, lease: { wait: 90, ttl: "2h" } }, "c.json");
    expect(c.prune.minAge).toBe(3_600_000);
    expect(c.lease.wait).toBe(90_000);
    expect(c.lease.ttl).toBe(7_200_000);
  });

  it("names the key and the forms it takes when refusing one", () => {
    expect(() => parseConfig({ prepull: { timeout: "soon" } }, "c.json")).toThrow(
      /prepull\.timeout: "soon" is not a duration; write e\.g\. "90s", "10m", "24h", "1h30m", or a number of seconds/,
    );
  });
});

describe("configFileOf: what config check prints", () => {
  it("writes durations as text, every key present", () => {
    const file = configFileOf(parseConfig({}, undefined));
    expect(file.prune).toMatchObject({ minAge: "24h", windowDuration: "1h" });
    expect(file.prepull).toMatchObject({ backoffBase: "2s", backoffCap: "30s", timeout: "30m" });
    expect(file.lease).toEqual({ wait: "20m", ttl: "6h" });
    expect(file.prune).toMatchObject({ gapWait: "15m" });
    expect(file.logFormat).toBe("human");
    expect(Object.keys(file).sort()).toEqual(Object.keys(configSchema.shape).sort());
  });

  it.each([
    ["defaults", {}],
    [
      "everything set, numbers for durations",
      {
        stateDir: "/srv/ik",
        runDir: "/run/ik",
        docker: "/opt/docker",
        logLevel: "debug",
        logFormat: "json",
        prepull: {
          concurrency: 5,
          pullPolicy: "always",
          retries: 2,
          backoffBase: 1.5,
          backoffCap: 60,
          timeout: 5400,
        },
        prune: {
          highWatermarkPercent: 80,
          lowWatermarkPercent: 60,
          criticalWatermarkPercent: 90,
          minAge: 172_800,
          keep: ["traefik:*"],
          window: "0 2 * * *",
          windowDuration: "1h30m",
          buildCache: true,
          chunkSize: 3,
        },
        lease: { wait: "90s", ttl: 86_401 },
        metrics: { textfile: "/var/lib/prom/ik.prom" },
      },
    ],
  ])("%s: its output parses back to the same config", (_name, raw) => {
    const once = parseConfig(raw, "c.json");
    const file = JSON.parse(JSON.stringify(configFileOf(once)));
    const twice = parseConfig(file, "out.json");
    expect(twice).toEqual(once);
    expect(configFileOf(twice)).toEqual(file);
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../../src/config/schema.js";
import {
  applyPrune,
  applyWatch,
  emptyMetrics,
  metricsStatePath,
  recordWatchMetrics,
  renderTextfile,
} from "../../../src/metrics/textfile.js";

const AT = new Date("2025-03-01T12:00:00Z");
const W = { low: 0.7, high: 0.85, critical: 0.95 };

function samples(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.trimEnd().split("\n")) {
    if (line.startsWith("#")) continue;
    const s = /^([a-z_:]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!s) throw new Error(`bad line: ${line}`);
    m.set(s[1]!, Number(s[2]));
  }
  return m;
}

describe("watch metrics", () => {
  it("no watch series before watch ever ran", () => {
    expect(renderTextfile(emptyMetrics())).not.toMatch(/imagekeeper_watch_/);
  });

  it("counters add the deltas (never go down), gauges take the last values", () => {
    let s = applyWatch(
      emptyMetrics(),
      { eventsDelta: { start: 3, pull: 1 }, outagesDelta: 1, lastEventSeconds: 100, connected: true },
      { at: AT, usageRatio: 0.5, watermarks: W },
    );
    s = applyWatch(
      s,
      {
        eventsDelta: { start: 2, delete: 1, pull: -4 },
        outagesDelta: 0,
        lastEventSeconds: 90,
        connected: false,
      },
      null,
    );
    const m = samples(renderTextfile(s));
    expect(m.get('imagekeeper_watch_events_total{action="start"}')).toBe(5);
    expect(m.get('imagekeeper_watch_events_total{action="pull"}')).toBe(1);
    expect(m.get('imagekeeper_watch_events_total{action="delete"}')).toBe(1);
    expect(m.get('imagekeeper_watch_events_total{action="load"}')).toBe(0);
    expect(m.get("imagekeeper_watch_outages_total")).toBe(1);
    expect(m.get("imagekeeper_watch_connected")).toBe(0);
    expect(m.get("imagekeeper_watch_last_event_timestamp_seconds")).toBe(100);
    // The second update measured no disk: the first measurement stays.
    expect(m.get("imagekeeper_disk_usage_ratio")).toBe(0.5);
    expect(m.get("imagekeeper_disk_measured_timestamp_seconds")).toBe(AT.getTime() / 1000);
  });

  it("a prune's measurement dates the disk gauge too", () => {
    const s = applyPrune(emptyMetrics(), {
      at: AT,
      outcome: "pruned",
      freedBytes: 1,
      imagesRemoved: 1,
      usageRatio: 0.6,
      watermarks: W,
    });
    expect(samples(renderTextfile(s)).get("imagekeeper_disk_measured_timestamp_seconds")).toBe(
      AT.getTime() / 1000,
    );
  });

  it("reads counters written before watch existed, and writes the textfile", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ikm-"));
    const old = emptyMetrics() as Record<string, unknown>;
    delete old.watch;
    delete (old.disk as Record<string, unknown>).measuredSeconds;
    writeFileSync(metricsStatePath(dir), JSON.stringify(old));
    const textfile = path.join(dir, "t", "ik.prom");
    const config = configSchema.parse({ stateDir: dir, metrics: { textfile } });
    await recordWatchMetrics(
      config,
      { eventsDelta: { create: 1 }, outagesDelta: 0, lastEventSeconds: 5, connected: true },
      { at: AT, usageRatio: 0.25, watermarks: W },
    );
    const m = samples(readFileSync(textfile, "utf8"));
    expect(m.get('imagekeeper_watch_events_total{action="create"}')).toBe(1);
    expect(m.get("imagekeeper_watch_connected")).toBe(1);
    expect(m.get("imagekeeper_disk_usage_ratio")).toBe(0.25);
  });
});

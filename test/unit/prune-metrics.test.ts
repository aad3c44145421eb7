import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import {
  applyPrepullReport,
  applyPrune,
  emptyMetrics,
  recordPrepullMetrics,
  recordPruneMetrics,
  renderTextfile,
} from "../../src/metrics/textfile.js";
import type { PrepullReport } from "../../src/pull/report.js";

const AT = new Date("2025-03-01T12:00:00Z");
const W = { low: 0.7, high: 0.85, critical: 0.95 };

const report: PrepullReport = {
  ok: false,
  recipe: "web",
  durationMs: 2500,
  images: [
    { ref: "a:1", service: "a", file: "c.yml", action: "present", attempts: 0, durationMs: 1 },
    { ref: "b:1", service: "b", file: "c.yml", action: "pulled", attempts: 1, durationMs: 900 },
    {
      ref: "c:1",
      service: "c",
      file: "c.yml",
      action: "failed",
      attempts: 4,
      durationMs: 1500,
      errorClass: "rate-limited",
    },
    { ref: "d:1", service: "d", file: "c.yml", action: "not-attempted", attempts: 0, durationMs: 0 },
  ],
};

/** Parse the exposition format into "name{labels}" → value, checking HELP/TYPE precede samples. */
function parse(text: string): Map<string, number> {
  const m = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.trimEnd().split("\n")) {
    const t = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
    if (t) {
      typed.add(t[1]!);
      continue;
    }
    if (line.startsWith("# HELP ")) continue;
    const s = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!s) throw new Error(`bad line: ${line}`);
    if (!typed.has(s[1]!)) throw new Error(`sample before TYPE: ${line}`);
    m.set(`${s[1]}${s[2] ?? ""}`, Number(s[3]));
  }
  return m;
}

describe("renderTextfile", () => {
  it("an empty state still exposes every outcome, action and error class at zero", () => {
    const m = parse(renderTextfile(emptyMetrics()));
    expect(m.get('imagekeeper_prune_runs_total{outcome="deferred"}')).toBe(0);
    expect(m.get('imagekeeper_prune_runs_total{outcome="insufficient"}')).toBe(0);
    expect(m.get('imagekeeper_prepull_errors_total{class="rate-limited"}')).toBe(0);
    expect(m.get('imagekeeper_prepull_images_total{action="not-attempted"}')).toBe(0);
    expect(m.has("imagekeeper_disk_usage_ratio")).toBe(false);
  });

  it("counts prunes, deferrals, measured bytes freed and the disk usage ratio", () => {
    let s = emptyMetrics();
    s = applyPrune(s, {
      at: AT,
      outcome: "pruned",
      freedBytes: 123_456_789,
      imagesRemoved: 5,
      usageRatio: 0.6912,
      watermarks: W,
    });
    s = applyPrune(s, {
      at: AT,
      outcome: "deferred",
      freedBytes: 0,
      imagesRemoved: 0,
      usageRatio: 0.9,
      watermarks: W,
    });
    s = applyPrune(s, {
      at: new Date(AT.getTime() + 60_000),
      outcome: "insufficient",
      freedBytes: -4096,
      imagesRemoved: 0,
      usageRatio: 0.88,
      watermarks: W,
    });
    const text = renderTextfile(s);
    const m = parse(text);
    expect(m.get('imagekeeper_prune_runs_total{outcome="pruned"}')).toBe(1);
    expect(m.get('imagekeeper_prune_runs_total{outcome="deferred"}')).toBe(1);
    expect(m.get('imagekeeper_prune_runs_total{outcome="insufficient"}')).toBe(1);
    expect(m.get("imagekeeper_prune_deferrals_total")).toBe(1);
    // a negative measurement (something else wrote meanwhile) does not shrink the counter
    expect(m.get("imagekeeper_prune_freed_bytes_total")).toBe(123_456_789);
    expect(m.get("imagekeeper_prune_last_freed_bytes")).toBe(0);
    expect(m.get("imagekeeper_prune_images_removed_total")).toBe(5);
    expect(m.get("imagekeeper_disk_usage_ratio")).toBe(0.88);
    expect(m.get('imagekeeper_disk_watermark_ratio{level="high"}')).toBe(0.85);
    expect(m.get("imagekeeper_prune_last_run_timestamp_seconds")).toBe(AT.getTime() / 1000 + 60);
    expect(text).toContain("# TYPE imagekeeper_prune_freed_bytes_total counter\n");
    expect(text).toContain("# TYPE imagekeeper_disk_usage_ratio gauge\n");
  });

  it("counts prepull actions and error classes; dry runs are not counted", () => {
    let s = applyPrepullReport(emptyMetrics(), report, AT);
    s = applyPrepullReport(s, { ...report, dryRun: true }, AT);
    s = applyPrepullReport(s, { ok: true, images: [report.images[0]!] }, AT);
    const m = parse(renderTextfile(s));
    expect(m.get('imagekeeper_prepull_runs_total{result="failed"}')).toBe(1);
    expect(m.get('imagekeeper_prepull_runs_total{result="ok"}')).toBe(1);
    expect(m.get('imagekeeper_prepull_images_total{action="present"}')).toBe(2);
    expect(m.get('imagekeeper_prepull_images_total{action="pulled"}')).toBe(1);
    expect(m.get('imagekeeper_prepull_images_total{action="failed"}')).toBe(1);
    expect(m.get('imagekeeper_prepull_errors_total{class="rate-limited"}')).toBe(1);
    expect(m.get("imagekeeper_prepull_last_run_timestamp_seconds")).toBe(AT.getTime() / 1000);
  });

  it("escapes label values", () => {
    const s = emptyMetrics();
    s.prepull.errors['we"ird\\class\n'] = 2;
    expect(renderTextfile(s)).toContain('imagekeeper_prepull_errors_total{class="we\\"ird\\\\class\\n"} 2\n');
  });
});

describe("recordPruneMetrics / recordPrepullMetrics", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("persist counters across runs in the state dir and write the textfile atomically", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "ikmetrics-"));
    const textfile = path.join(dir, "textfile", "imagekeeper.prom");
    const config = configSchema.parse({ stateDir: path.join(dir, "state"), metrics: { textfile } });
    const p = {
      at: AT,
      outcome: "pruned" as const,
      freedBytes: 10,
      imagesRemoved: 1,
      usageRatio: 0.5,
      watermarks: W,
    };
    await recordPruneMetrics(config, p);
    await recordPruneMetrics(config, p);
    await recordPrepullMetrics(config, report);
    const m = parse(readFileSync(textfile, "utf8"));
    expect(m.get('imagekeeper_prune_runs_total{outcome="pruned"}')).toBe(2);
    expect(m.get("imagekeeper_prune_freed_bytes_total")).toBe(20);
    expect(m.get('imagekeeper_prepull_images_total{action="pulled"}')).toBe(1);
  });

  it("a damaged counters file starts over instead of failing", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "ikmetrics-"));
    const textfile = path.join(dir, "m.prom");
    const config = configSchema.parse({ stateDir: dir, metrics: { textfile } });
    writeFileSync(path.join(dir, "metrics.json"), "{not json");
    await recordPrepullMetrics(config, report);
    expect(parse(readFileSync(textfile, "utf8")).get('imagekeeper_prepull_runs_total{result="failed"}')).toBe(
      1,
    );
  });

  it("without metrics.textfile nothing is written", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "ikmetrics-"));
    const config = configSchema.parse({ stateDir: path.join(dir, "state") });
    await recordPrepullMetrics(config, report);
    expect(() => readFileSync(path.join(dir, "state", "metrics.json"))).toThrow();
  });
});

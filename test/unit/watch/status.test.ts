import { describe, expect, it } from "vitest";
import { renderStatus, type Status } from "../../../src/commands/status.js";

const NOW = new Date("2025-03-01T12:00:00Z");
const base: Status = {
  disk: {
    path: "/var/lib/docker",
    usedPercent: 50,
    freeBytes: 1,
    totalBytes: 2,
    watermarks: { low: 70, high: 85, critical: 95, minFree: null, maxFree: null },
    level: "below-low",
  },
  leases: [],
  lastPrune: null,
  lastCompletedPrune: null,
  consecutiveDeferrals: 0,
  ledger: { images: 0, needSets: 0 },
  window: { cron: null, durationMs: 0, open: true, closesAt: null, nextOpen: null },
  quota: [],
  paths: { config: null, stateDir: "/var/lib/imagekeeper", runDir: "/run/imagekeeper" },
  store: {
    images: 0,
    bytes: 0,
    removable: { images: 0, bytes: 0 },
    reclaimable: { images: 0, bytes: 0 },
    nonImageBytes: 1,
  },
  timer: null,
  watch: { running: false, connected: null, lastEventAt: null, reconciledAt: null },
  problems: [],
};

describe("status: watch", () => {
  it.each([
    [
      { running: false, connected: null, lastEventAt: null, reconciledAt: null },
      /^watch {4}not running: uses come from prepull only$/m,
    ],
    [
      { running: false, connected: false, lastEventAt: "2025-03-01T10:00:00.000Z", reconciledAt: null },
      /^watch {4}not running: uses come from prepull only; last event 2h0m ago \(2025-03-01T10:00:00.000Z\)$/m,
    ],
    [
      { running: true, connected: true, lastEventAt: null, reconciledAt: "2025-03-01T11:59:00.000Z" },
      /^watch {4}running; no event recorded yet$/m,
    ],
    [
      { running: true, connected: false, lastEventAt: "2025-03-01T11:59:00.000Z", reconciledAt: null },
      /^watch {4}running, waiting for the Docker daemon; last event 1m0s ago/m,
    ],
  ])("%j", (watch, line) => {
    expect(renderStatus({ ...base, watch }, NOW)).toMatch(line);
  });
});

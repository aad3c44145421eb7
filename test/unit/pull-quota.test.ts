import { describe, expect, it } from "vitest";
import { renderStatus, type Status } from "../../src/commands/status.js";
import { dedupeImages, type PlannedImage } from "../../src/pull/plan.js";
import { checkQuotas, shortfallMessage, shortfalls } from "../../src/pull/quota.js";
import type { QuotaObservation } from "../../src/registry/client.js";
import { applyQuotaRecords, emptyQuotaState, type QuotaRecord } from "../../src/state/quota.js";

const AT = Date.parse("2025-03-01T12:00:00.000Z");

function plan(rows: [string, "pull" | "skip"][]): PlannedImage[] {
  const imgs = dedupeImages(rows.map(([ref], i) => ({ ref, service: `s${i}`, file: "c.yml" })));
  return imgs.map((w) => ({
    ...w,
    action: rows.find(([r]) => r === w.ref)![1],
    reason: "",
    presentId: undefined,
    digest: undefined,
    warning: undefined,
  }));
}

const q = (o: Partial<QuotaObservation> = {}): QuotaObservation => ({
  registry: "docker.io",
  endpoint: "registry-1.docker.io",
  limit: 100,
  remaining: 3,
  windowSeconds: 21600,
  resetSeconds: undefined,
  source: "203.0.113.7",
  at: AT,
  ...o,
});

describe("checkQuotas", () => {
  const p = plan([
    ["nginx:1", "pull"],
    ["redis:7", "pull"],
    ["postgres:16", "pull"],
    ["traefik:3", "skip"],
    ["127.0.0.1:5000/coop/app:1", "pull"],
  ]);
  it("counts the plan's pulls per registry against what remains", () => {
    expect(checkQuotas(p, [q()])).toEqual([
      {
        registry: "docker.io",
        endpoint: "registry-1.docker.io",
        limit: 100,
        remaining: 3,
        windowSeconds: 21600,
        resetBy: AT + 21600 * 1000,
        source: "203.0.113.7",
        needed: 3,
      },
    ]);
  });
  it.each([
    [2, true],
    [3, false],
    [4, false],
    [0, true],
  ])("remaining %i for 3 pulls: short %s", (remaining, short) => {
    expect(shortfalls(checkQuotas(p, [q({ remaining })])).length > 0).toBe(short);
  });
  it("takes the lowest remaining of a registry's answers", () => {
    const c = checkQuotas(p, [
      q({ remaining: 9, endpoint: "a" }),
      q({ remaining: 2, endpoint: "b" }),
      q({ remaining: 5 }),
    ]);
    expect(c.map((x) => [x.remaining, x.endpoint])).toEqual([[2, "b"]]);
  });
  it("keeps registries apart", () => {
    const c = checkQuotas(p, [
      q({ remaining: 50 }),
      q({ registry: "127.0.0.1:5000", endpoint: "127.0.0.1:5000", remaining: 0 }),
    ]);
    expect(c.map((x) => [x.registry, x.needed, x.remaining])).toEqual([
      ["127.0.0.1:5000", 1, 0],
      ["docker.io", 3, 50],
    ]);
    expect(shortfalls(c).map((x) => x.registry)).toEqual(["127.0.0.1:5000"]);
  });
  it("a reset header beats the window; neither: no reset time", () => {
    expect(checkQuotas(p, [q({ resetSeconds: 60 })])[0]!.resetBy).toBe(AT + 60_000);
    expect(checkQuotas(p, [q({ windowSeconds: undefined })])[0]!.resetBy).toBeUndefined();
  });
  it("no quota seen, nothing to check", () => {
    expect(checkQuotas(p, [])).toEqual([]);
  });
  it("says how many are needed, how many remain, and by when the window resets", () => {
    const m = shortfallMessage(checkQuotas(p, [q({ remaining: 2 })])[0]!);
    expect(m).toBe(
      "pull rate limit: this prepull needs 3 pulls from docker.io, 2 of 100 per 6h remain, counted against 203.0.113.7; the window has reset by 2025-03-01T18:00:00.000Z; nothing was pulled",
    );
    const one = plan([["nginx:1", "pull"]]);
    expect(
      shortfallMessage(checkQuotas(one, [q({ remaining: 0, source: undefined, windowSeconds: 90 })])[0]!),
    ).toBe(
      "pull rate limit: this prepull needs 1 pull from docker.io, 0 of 100 per 90s remain; the window has reset by 2025-03-01T12:01:30.000Z; nothing was pulled",
    );
  });
});

// Pinned beyond the cases above: which of two equal answers is kept, the registry order whatever
// order the answers came in, and the window as hours, minutes or seconds, or absent.
describe("checkQuotas and shortfallMessage: ties, order, the window's wording", () => {
  const p = plan([
    ["nginx:1", "pull"],
    ["127.0.0.1:5000/coop/app:1", "pull"],
  ]);
  it("of two answers with the same remaining, the first is kept", () => {
    const c = checkQuotas(p, [
      q({ remaining: 4, endpoint: "first" }),
      q({ remaining: 4, endpoint: "second" }),
    ]);
    expect(c.map((x) => x.endpoint)).toEqual(["first"]);
  });
  const regs = ["b.example", "a.example", "c.example", "127.0.0.1:5000"];
  it.each([[regs], [[...regs].reverse()], [["c.example", "a.example", "127.0.0.1:5000", "b.example"]]])(
    "registries sorted by name from %j",
    (order) => {
      const c = checkQuotas(
        p,
        order.map((registry) => q({ registry, endpoint: registry })),
      );
      expect(c.map((x) => x.registry)).toEqual(["127.0.0.1:5000", "a.example", "b.example", "c.example"]);
    },
  );
  it.each([
    [7200, " per 2h", "2025-03-01T14:00:00.000Z"],
    [120, " per 2m", "2025-03-01T12:02:00.000Z"],
    [5400, " per 90m", "2025-03-01T13:30:00.000Z"],
    [90, " per 90s", "2025-03-01T12:01:30.000Z"],
    [59, " per 59s", "2025-03-01T12:00:59.000Z"],
  ])("window %j → %j", (windowSeconds, words, resetBy) => {
    const c = checkQuotas(p, [q({ remaining: 0, windowSeconds, source: undefined })])[0]!;
    expect(shortfallMessage(c)).toBe(
      `pull rate limit: this prepull needs 1 pull from docker.io, 0 of 100${words} remain; the window has reset by ${resetBy}; nothing was pulled`,
    );
  });
  it("a reset header without a window: the reset time alone", () => {
    const c = checkQuotas(p, [
      q({ remaining: 0, windowSeconds: undefined, resetSeconds: 60, source: undefined }),
    ])[0]!;
    expect(shortfallMessage(c)).toBe(
      "pull rate limit: this prepull needs 1 pull from docker.io, 0 of 100 remain; the window has reset by 2025-03-01T12:01:00.000Z; nothing was pulled",
    );
  });
  it("no window and no reset time: neither is mentioned", () => {
    const c = checkQuotas(p, [q({ remaining: 0, windowSeconds: undefined, source: "1.2.3.4" })])[0]!;
    expect(shortfallMessage(c)).toBe(
      "pull rate limit: this prepull needs 1 pull from docker.io, 0 of 100 remain, counted against 1.2.3.4; nothing was pulled",
    );
  });
});

describe("the quota state file", () => {
  const rec = (at: number, remaining: number): QuotaRecord => ({
    at,
    endpoint: "registry-1.docker.io",
    limit: 100,
    remaining,
    windowSeconds: 21600,
    resetBy: null,
    source: null,
    pulledAfter: 0,
  });
  it("keeps the newer record per registry", () => {
    let s = applyQuotaRecords(emptyQuotaState(), { "docker.io": rec(AT, 50) });
    s = applyQuotaRecords(s, { "docker.io": rec(AT - 1, 99), "ghcr.io": rec(AT, 7) });
    expect(Object.fromEntries(Object.entries(s.registries).map(([k, v]) => [k, v.remaining]))).toEqual({
      "docker.io": 50,
      "ghcr.io": 7,
    });
    s = applyQuotaRecords(s, { "docker.io": rec(AT + 1, 40) });
    expect(s.registries["docker.io"]!.remaining).toBe(40);
  });
});

describe("status shows the last quota", () => {
  it("renders remaining, window, age, pulls since, reset and source", () => {
    const s = {
      disk: {
        path: "/var/lib/docker",
        usedPercent: 10,
        freeBytes: 1,
        totalBytes: 2,
        watermarks: { low: 85, high: 95, critical: 98, minFree: null, maxFree: null },
        level: "below-low",
      },
      paths: { config: null, stateDir: "/var/lib/imagekeeper", runDir: "/run/imagekeeper" },
      store: {
        images: 0,
        bytes: 0,
        removable: { images: 0, bytes: 0 },
        reclaimable: { images: 0, bytes: 0 },
        nonImageBytes: 1,
      },
      timer: null,
      leases: [],
      lastPrune: null,
      lastCompletedPrune: null,
      consecutiveDeferrals: 0,
      ledger: { images: 0, needSets: 0 },
      window: { cron: null, durationMs: 0, open: false, closesAt: null, nextOpen: null },
      quota: [
        {
          registry: "docker.io",
          ...{
            at: AT,
            endpoint: "registry-1.docker.io",
            limit: 100,
            remaining: 76,
            windowSeconds: 21600,
            resetBy: AT + 21600_000,
            source: "203.0.113.7",
            pulledAfter: 2,
          },
        },
      ],
      watch: { running: false, connected: null, lastEventAt: null, reconciledAt: null },
      problems: [],
    } satisfies Status;
    expect(renderStatus(s, new Date(AT + 300_000))).toMatch(
      /^quota {4}docker\.io: 76 of 100 pulls left per 6h0m 5m0s ago, then 2 pulled; reset by 2025-03-01T18:00:00\.000Z \(counted against 203\.0\.113\.7\)$/m,
    );
  });
});

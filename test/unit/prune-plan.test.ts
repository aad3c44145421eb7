import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import type { LeaseInfo } from "../../src/lease/lease.js";
import type { DiskUsage } from "../../src/prune/measure.js";
import {
  type ContainerFact,
  decideGate,
  describeBlocked,
  type ImageFact,
  lastUseOf,
  ledgerViews,
  type PruneFacts,
  parseLastTagTime,
  planPrune,
  reasonText,
  type ServiceFact,
} from "../../src/prune/plan.js";
import { ALWAYS_OPEN, type WindowState } from "../../src/prune/window.js";
import { applyChange, emptyLedger, type Ledger } from "../../src/state/ledger.js";
import { firstSeenAt, prepulled } from "../support/ledger-fixtures.js";

const H = 3_600_000;
const D = 24 * H;
const NOW = new Date("2025-03-01T12:00:00Z");
const T = (ms: number) => new Date(NOW.getTime() + ms);
const REG = "127.0.0.1:5000";
const dg = (c: string) => `sha256:${c.repeat(64).slice(0, 64)}`;

// The percentages these tests were written for, without absolute thresholds (the defaults' 4 GiB
// minFree would dominate their 1000 MiB disk); the defaults themselves are tested on their own.
const cfg = (prune: Record<string, unknown> = {}) =>
  configSchema.parse({
    prune: {
      highWatermarkPercent: 85,
      lowWatermarkPercent: 70,
      criticalWatermarkPercent: 95,
      minFree: null,
      maxFree: null,
      ...prune,
    },
  }).prune;

const disk = (usedPercent: number, capacity = 1000 * 1024 * 1024): DiskUsage => {
  const usedBytes = Math.round((capacity * usedPercent) / 100);
  return {
    path: "/var/lib/docker",
    totalBytes: capacity,
    usedBytes,
    freeBytes: capacity - usedBytes,
    usedPercent,
  };
};

let n = 0;
function image(name: string | null, o: Partial<ImageFact> & { digest?: string } = {}): ImageFact {
  n++;
  const id = o.id ?? dg(n.toString(16));
  const { digest, ...rest } = o;
  const repoTags = name ? [name] : [];
  return {
    id,
    repoTags,
    repoDigests: digest ? [digest] : [],
    sizeBytes: 100 * 1024 * 1024,
    createdMs: Date.parse("2024-01-01T00:00:00Z"),
    lastTagTimeMs: null,
    ...rest,
  };
}

/** A ledger in which every image in `ids` was first seen `ago` before NOW (long enough to be old). */
function seen(images: ImageFact[], ago = 30 * D, base: Ledger = emptyLedger()): Ledger {
  return firstSeenAt(
    base,
    images.map((i) => i.id),
    T(-ago),
  );
}

function facts(o: Partial<PruneFacts> & { images: ImageFact[] }): PruneFacts {
  return {
    now: NOW,
    disk: disk(90),
    containers: [],
    services: [],
    ledger: seen(o.images),
    window: ALWAYS_OPEN,
    leases: [],
    ...o,
  };
}

const byRef = (plan: ReturnType<typeof planPrune>, ref: string) =>
  [...plan.removable, ...plan.kept].find((p) => p.names.includes(ref))!;

const lease: LeaseInfo = {
  id: "r1",
  pid: 42,
  command: "abra app deploy",
  since: NOW.toISOString(),
  kind: "run",
};
const closed: WindowState = {
  configured: true,
  open: false,
  openedAt: null,
  closesAt: null,
  nextOpen: T(14 * H).toISOString(),
};
const openW: WindowState = {
  configured: true,
  open: true,
  openedAt: T(-H).toISOString(),
  closesAt: T(H).toISOString(),
  nextOpen: T(23 * H).toISOString(),
};

describe("decideGate", () => {
  it.each([
    ["below high: nothing to do", 84.9, ALWAYS_OPEN, [], "no-pressure"],
    ["exactly at high: prune", 85, ALWAYS_OPEN, [], "routine"],
    ["above high, no window configured", 90, ALWAYS_OPEN, [], "routine"],
    ["above high, inside the window", 90, openW, [], "routine"],
    ["above high, outside the window, below critical", 94.9, closed, [], "outside-window"],
    ["critical, outside the window", 95, closed, [], "critical"],
    ["a live run lease defers a routine prune", 90, ALWAYS_OPEN, [lease], "deferred"],
    ["a live run lease defers even a critical prune", 99, closed, [lease], "deferred"],
    ["below high with a lease: no pressure (nothing to defer)", 50, ALWAYS_OPEN, [lease], "no-pressure"],
    ["outside the window with a lease: outside-window", 90, closed, [lease], "outside-window"],
  ] as const)("%s", (_name, used, window, leases, expected) => {
    const g = decideGate(disk(used), cfg(), window, [...leases]);
    expect(g.proceed ? g.level : g.outcome).toBe(expected);
    expect(g.reason).toMatch(
      g.proceed || g.outcome !== "deferred" ? /\d+(\.\d+)?%/ : /r1: pid 42 abra app deploy/,
    );
  });

  it("custom watermarks", () => {
    const c = cfg({ highWatermarkPercent: 50, lowWatermarkPercent: 30, criticalWatermarkPercent: 60 });
    expect(decideGate(disk(55), c, closed, []).proceed).toBe(false);
    expect(decideGate(disk(60), c, closed, []).proceed).toBe(true);
  });
});

describe("parseLastTagTime", () => {
  it.each([
    ["0001-01-01T00:00:00Z", null],
    [null, null],
    [undefined, null],
    ["", null],
    ["garbage", null],
    ["2025-02-28T10:00:00.123456789Z", Date.parse("2025-02-28T10:00:00.123Z")],
  ])("%s", (s, ms) => {
    expect(parseLastTagTime(s)).toBe(ms);
  });
});

describe("last use: ledger → LastTagTime → first seen", () => {
  const img = image(`${REG}/a/app:1`, { lastTagTimeMs: T(-5 * D).getTime() });
  it.each([
    [
      "ledger wins",
      { usesMs: [T(-2 * D).getTime()], lastUseMs: T(-2 * D).getTime() },
      img,
      T(-9 * D).getTime(),
      -2 * D,
      "ledger",
    ],
    [
      "then the last tag/pull time",
      { usesMs: [], lastUseMs: null },
      img,
      T(-9 * D).getTime(),
      -5 * D,
      "last-tag-time",
    ],
    [
      "then first seen",
      { usesMs: [], lastUseMs: null },
      { ...img, lastTagTimeMs: null },
      T(-9 * D).getTime(),
      -9 * D,
      "first-seen",
    ],
    ["never seen: first seen now", undefined, { ...img, lastTagTimeMs: null }, null, 0, "first-seen"],
  ] as const)("%s", (_name, view, im, firstSeenMs, at, source) => {
    const v =
      view && firstSeenMs !== null
        ? {
            ...view,
            usesMs: [...view.usesMs],
            firstSeenMs,
            arrivedMs: null,
            recipes: ["r"],
            neededBy: ["r"],
            droppedBy: [],
            reservedBy: [],
            neededNext: null,
            superseded: false,
          }
        : undefined;
    expect(lastUseOf(im, v, NOW.getTime())).toEqual({ ms: T(at).getTime(), source });
  });
});

describe("ledgerViews", () => {
  it("matches Hub names in any spelling, digests, and a recorded ID whose reference is gone", () => {
    const nginx = image("nginx:1.25");
    const pinned = image(null, { digest: `${REG}/x/y@${dg("d")}` });
    const gone = image(`${REG}/x/old:renamed`);
    let l = emptyLedger();
    l = prepulled(l, {
      at: T(-3 * D),
      recipe: "web",
      ref: null,
      images: [
        { ref: "docker.io/library/nginx:1.25", id: nginx.id },
        { ref: `${REG}/x/y:1.0@${dg("d")}`, id: pinned.id },
        { ref: `${REG}/x/old:1`, id: gone.id },
      ],
    });
    const v = ledgerViews(l, [nginx, pinned, gone]);
    expect(v.get(nginx.id)?.lastUseMs).toBe(T(-3 * D).getTime());
    expect(v.get(pinned.id)?.neededBy).toEqual(["web|deploy"]);
    expect(v.get(gone.id)?.recipes).toEqual(["web|deploy"]);
  });

  it("superseded: a recipe needed it before, none in its latest prepull", () => {
    const v1 = image(`${REG}/a/app:1`);
    const v2 = image(`${REG}/a/app:2`);
    const shared = image("postgres:16");
    let l = emptyLedger();
    l = prepulled(l, {
      at: T(-3 * D),
      recipe: "a",
      ref: null,
      images: [
        { ref: `${REG}/a/app:1`, id: v1.id },
        { ref: "postgres:16", id: shared.id },
      ],
    });
    l = prepulled(l, {
      at: T(-2 * D),
      recipe: "b",
      ref: null,
      images: [{ ref: "postgres:16", id: shared.id }],
    });
    l = prepulled(l, {
      at: T(-D),
      recipe: "a",
      ref: null,
      images: [{ ref: `${REG}/a/app:2`, id: v2.id }],
    });
    const v = ledgerViews(l, [v1, v2, shared]);
    expect(v.get(v1.id)?.superseded).toBe(true);
    expect(v.get(v2.id)?.superseded).toBe(false);
    // recipe a dropped it, but b still needs it
    expect(v.get(shared.id)).toMatchObject({
      superseded: false,
      neededBy: ["b|deploy"],
      recipes: ["a|deploy", "b|deploy"],
    });
  });
});

describe("planPrune: protection", () => {
  const running = image(`${REG}/a/running:1`);
  const stopped = image(`${REG}/a/stopped:1`);
  const created = image(`${REG}/a/created:1`);
  const svcDigest = dg("5");
  const svc = image(null, { digest: `${REG}/stack/app@${svcDigest}` });
  const prevDigest = dg("6");
  const rollback = image(null, { digest: `${REG}/stack/app@${prevDigest}` });
  const sameTagOtherDigest = image(`${REG}/stack/app:2.0`, { digest: `${REG}/stack/app@${dg("7")}` });
  const svcByTag = image("nginx:1.25");
  const traefik = image("traefik:v2.11");
  const traefikDigestOnly = image(null, { digest: `traefik@${dg("8")}` });
  const whoami = image("traefik/whoami:v1.10");
  const pg = image(`${REG}/db/postgres:16`);
  const hubPg = image("postgres:16");
  const usedRecently = image(`${REG}/a/used-recently:1`);
  const justPrepulled = image(`${REG}/a/just-prepulled:1`);
  const aboutToBeUsed = image(`${REG}/a/about-to-be-used:1`);
  const youngTag = image(`${REG}/a/young-tag:1`, { lastTagTimeMs: T(-H).getTime() });
  const oldLedgerRecentTag = image(`${REG}/a/retagged:1`, { lastTagTimeMs: T(-H).getTime() });
  const unseen = image(`${REG}/a/unseen:1`);
  const old = image(`${REG}/a/old:1`);
  const stray = image(null);
  const images = [
    stray,
    running,
    stopped,
    created,
    svc,
    rollback,
    sameTagOtherDigest,
    svcByTag,
    traefik,
    traefikDigestOnly,
    whoami,
    pg,
    hubPg,
    usedRecently,
    justPrepulled,
    aboutToBeUsed,
    youngTag,
    oldLedgerRecentTag,
    unseen,
    old,
  ];
  const containers: ContainerFact[] = [
    { id: "c1", name: "web", imageId: running.id, image: running.repoTags[0]!, state: "running" },
    { id: "c2", name: "job", imageId: stopped.id, image: stopped.repoTags[0]!, state: "exited" },
    { id: "c3", name: "new", imageId: created.id, image: created.repoTags[0]!, state: "created" },
  ];
  const services: ServiceFact[] = [
    {
      id: "s1",
      name: "stack_app",
      image: `${REG}/stack/app:2.0@${svcDigest}`,
      previousImage: `${REG}/stack/app:1.0@${prevDigest}`,
    },
    { id: "s2", name: "stack_proxy", image: "docker.io/library/nginx:1.25", previousImage: null },
  ];
  let ledger = emptyLedger();
  ledger = prepulled(ledger, {
    at: T(-20 * D),
    recipe: "q",
    ref: null,
    images: [{ ref: oldLedgerRecentTag.repoTags[0]!, id: oldLedgerRecentTag.id }],
  });
  ledger = prepulled(ledger, {
    at: T(-H),
    recipe: "r",
    ref: null,
    images: [{ ref: usedRecently.repoTags[0]!, id: usedRecently.id }],
  });
  ledger = prepulled(ledger, {
    at: T(-10 * 60_000),
    recipe: "p",
    ref: null,
    images: [{ ref: justPrepulled.repoTags[0]!, id: justPrepulled.id }],
  });
  ledger = seen(
    images.filter((i) => i !== unseen),
    30 * D,
    ledger,
  );
  const planOf = () =>
    planPrune(
      facts({
        images,
        containers,
        services,
        ledger,
        reserved: [{ id: aboutToBeUsed.id, reason: "about to be used by the prepull of gitea_ci" }],
      }),
      cfg({ keep: ["traefik:*", "*/postgres:*"], minAge: "24h", reservation: "15m" }),
    );

  it.each([
    ["running container", running, "in-use", /web \(running\)/],
    ["stopped container", stopped, "in-use", /job \(exited\)/],
    ["created container", created, "in-use", /new \(created\)/],
    ["service spec (digest-pinned, untagged)", svc, "service", /stack_app/],
    [
      "service previous spec",
      rollback,
      "service-rollback",
      /previous \(rollback\) spec of swarm service stack_app/,
    ],
    ["service spec by tag, Hub name spelled in full", svcByTag, "service", /stack_proxy/],
    ["keep pattern", traefik, "keep-pattern", /traefik:v2.11 matches prune.keep pattern "traefik:\*"/],
    ["keep pattern on repo:<none>", traefikDigestOnly, "keep-pattern", /traefik:<none>/],
    ["keep pattern across registry and path", pg, "keep-pattern", /\*\/postgres:\*/],
    [
      "the triggering prepull's own images (PruneFacts.reserved)",
      aboutToBeUsed,
      "reserved",
      /^about to be used by the prepull of gitea_ci$/,
    ],
    [
      "in a prepull 10 minutes ago, its deploy not yet seen (prune.reservation)",
      justPrepulled,
      "reserved",
      /in the latest prepull of p\|deploy, 10m0s ago: its deploy may not have started \(prune.reservation 15m0s\)/,
    ],
    [
      "tagged an hour ago, never used (docuum#177)",
      youngTag,
      "too-young",
      /pulled, tagged or built 1h0m ago and not used since, less than prune.minAge 1d0h/,
    ],
    [
      "used 20 days ago, re-tagged an hour ago: arrived since its last use",
      oldLedgerRecentTag,
      "too-young",
      /pulled, tagged or built 1h0m ago and not used since/,
    ],
    ["never seen before (first seen now)", unseen, "too-young", /first seen by imagekeeper 0ms ago/],
  ] as const)("keeps: %s", (_name, img, code, reason) => {
    const p = [...planOf().kept, ...planOf().removable].find((x) => x.id === img.id)!;
    expect(p.action).toBe("keep");
    expect(p.code).toBe(code);
    expect(p.reason).toMatch(reason);
    expect(p.order).toBeNull();
  });

  it.each([
    ["the tag a service names, but not the digest it pins", sameTagOtherDigest],
    ["traefik/whoami does not match traefik:*", whoami],
    ["postgres:16 has no slash: */postgres:* does not match it", hubPg],
    ["old and unused", old],
    ["an old untagged image", stray],
    ["used an hour ago: ranked by the order, not protected (issue 8)", usedRecently],
  ] as const)("removes: %s", (_name, img) => {
    expect(planOf().removable.map((p) => p.id)).toContain(img.id);
  });

  it("kept images are listed by reason, every image exactly once", () => {
    expect(planOf().kept.length + planOf().removable.length).toBe(images.length);
    const codes = planOf().kept.map((k) => k.code);
    expect(codes).toEqual([...codes].sort((a, b) => order(a) - order(b)));
    function order(c: string) {
      return ["in-use", "service", "service-rollback", "reserved", "keep-pattern", "too-young"].indexOf(c);
    }
  });

  it("docker image prune would take the digest-only rollback image: remove untagged images one by one", () => {
    expect(planOf().dangling.method).toBe("each");
    expect(planOf().dangling.why).toMatch(/moby#31574/);
  });
});

describe("planPrune: a fresh or lost state file", () => {
  it("makes every image young: nothing removable, outcome insufficient", () => {
    const images = [
      image(`${REG}/a/x:1`),
      image(`${REG}/a/y:1`),
      image(null, { digest: `${REG}/a/z@${dg("e")}` }),
    ];
    const plan = planPrune(facts({ images, ledger: emptyLedger(), disk: disk(99) }), cfg());
    expect(plan.removable).toEqual([]);
    expect(plan.kept.map((k) => k.code)).toEqual(["too-young", "too-young", "too-young"]);
    expect(plan.outcome).toBe("insufficient");
    expect(describeBlocked(plan.kept)).toMatch(/^too-young: 3 image\(s\), 300\.0 MiB$/);
  });
});

describe("planPrune: order", () => {
  const dangOld = image(null, { digest: `${REG}/a/app@${dg("a1")}` });
  const dangBare = image(null);
  const superseded = image(`${REG}/a/app:1`);
  const current = image(`${REG}/a/app:2`);
  const weekly = image(`${REG}/w/weekly:1`);
  const noHistory = image(`${REG}/m/manual:1`, { sizeBytes: 10 });
  const images = [current, noHistory, weekly, superseded, dangBare, dangOld];
  let ledger = emptyLedger();
  for (let d = 10; d >= 1; d--) {
    ledger = prepulled(ledger, {
      at: T(-d * D),
      recipe: "a",
      ref: null,
      images: [{ ref: d > 3 ? `${REG}/a/app:1` : `${REG}/a/app:2`, id: d > 3 ? superseded.id : current.id }],
    });
  }
  for (const d of [22, 15, 8, 1]) {
    ledger = prepulled(ledger, {
      at: T(-d * D),
      recipe: "w",
      ref: null,
      images: [{ ref: `${REG}/w/weekly:1`, id: weekly.id }],
    });
  }
  ledger = seen(images, 40 * D, ledger);
  const planOf = () => planPrune(facts({ images, ledger }), cfg());

  it("dangling first, then superseded, then images no app needs, then by the needing app's next run", () => {
    expect(planOf().removable.map((p) => [p.ref, p.code, p.order])).toEqual([
      [`${REG}/a/app:<none>`, "dangling", 1],
      ["<none>:<none>", "dangling", 2],
      [`${REG}/a/app:1`, "superseded", 3],
      // no history, unused for 40 days, no app needs it
      [`${REG}/m/manual:1`, "lru", 4],
      // app w runs weekly, last yesterday: its next run in 6 days
      [`${REG}/w/weekly:1`, "needed", 5],
      // app a runs nightly, last yesterday: due now
      [`${REG}/a/app:2`, "needed", 6],
    ]);
    expect(reasonText(byRef(planOf(), `${REG}/a/app:1`))).toMatch(
      /^superseded \(#3\): needed before by a\|deploy, by none/,
    );
    expect(reasonText(byRef(planOf(), `${REG}/w/weekly:1`))).toMatch(
      /^needed \(#5\): needed by w\|deploy, whose next run is expected in 6d0h \(usual gap 7d0h\)/,
    );
    expect(byRef(planOf(), `${REG}/w/weekly:1`).predictedNextUse).toBe(T(6 * D).toISOString());
    expect(byRef(planOf(), `${REG}/a/app:2`).predictedNextUse).toBe(NOW.toISOString());
  });

  it("no protected untagged image: docker image prune is safe for the dangling step", () => {
    expect(planOf().dangling.method).toBe("image-prune");
  });

  it("expects to stop at the low watermark by image sizes", () => {
    // 90% of 1000 MiB used; below 70% needs ~200 MiB: the two dangling images (100 MiB each) and
    // one more (the dangling step runs whole, then one image at a time).
    expect(planOf().targetBytes).toBeGreaterThan(200 * 1024 * 1024);
    expect(planOf().expectedRemovals).toBe(3);
    expect(planOf().outcome).toBe("pruned");
  });

  it("a gate that stops still classifies every image (for --dry-run) but expects no removal", () => {
    const p = planPrune(facts({ images, ledger, disk: disk(50) }), cfg());
    expect(p.outcome).toBe("no-pressure");
    expect(p.expectedRemovals).toBe(0);
    expect(p.removable.map((r) => r.id)).toEqual(planOf().removable.map((r) => r.id));
  });

  it("with prune.chunkSize, expects whole chunks", () => {
    const p = planPrune(facts({ images, ledger }), cfg({ chunkSize: 2 }));
    expect(p.expectedRemovals).toBe(4);
    const all = planPrune(facts({ images, ledger }), cfg({ chunkSize: 50 }));
    expect(all.expectedRemovals).toBe(6);
  });

  it("insufficient when the removable images cannot free enough", () => {
    const p = planPrune(facts({ images: [noHistory], ledger, disk: disk(90) }), cfg());
    expect(p.outcome).toBe("insufficient");
    expect(p.expectedRemovals).toBe(1);
  });

  it("removal arguments: the ID when docker removes it in one step, else every reference", () => {
    const multi = image(`${REG}/a/x:1`, { repoDigests: [`${REG}/a/x@${dg("b")}`, `${REG}/b/y@${dg("b")}`] });
    const twoTags = { ...image(`${REG}/a/x:1`), repoTags: [`${REG}/a/x:1`, `${REG}/a/x:latest`] };
    const p = planPrune(
      facts({ images: [current, multi, twoTags], ledger: seen([current, multi, twoTags]) }),
      cfg(),
    );
    expect(byRef(p, `${REG}/a/app:2`).rmArgs).toEqual([current.id]);
    expect(p.removable.find((r) => r.id === multi.id)!.rmArgs).toEqual([
      `${REG}/a/x:1`,
      `${REG}/b/y@${dg("b")}`,
    ]);
    expect(p.removable.find((r) => r.id === twoTags.id)!.rmArgs).toEqual([
      `${REG}/a/x:1`,
      `${REG}/a/x:latest`,
    ]);
  });
});

describe("issue 8: superseded by app and role", () => {
  const v1 = image(`${REG}/g/app:1`);
  const v2 = image(`${REG}/g/app:2`);
  const use = (l: Ledger, at: number, ids: ImageFact[], app: string, role: string | undefined) =>
    applyChange(
      l,
      {
        uses: ids.map((i) => ({ at, id: i.id, ref: i.repoTags[0]!, app, role, source: "prepull" as const })),
      },
      Math.max(at, NOW.getTime()),
    );
  const pre = (l: Ledger, at: number, imgs: ImageFact[], app = "g", role = "deploy") =>
    prepulled(l, {
      at: new Date(at),
      recipe: "g",
      app,
      role,
      ref: null,
      images: imgs.map((i) => ({ ref: i.repoTags[0]!, id: i.id })),
    });
  const view = (l: Ledger, img: ImageFact, at = NOW.getTime()) => ledgerViews(l, [v1, v2], at).get(img.id)!;
  const t = (ms: number) => NOW.getTime() + ms;

  it("a version move: the app's next run drops it a whole gap after its last use", () => {
    let l = emptyLedger();
    for (const d of [3, 2]) l = pre(l, t(-d * D), [v1]);
    l = pre(l, t(-D), [v2]);
    expect(view(l, v1)).toMatchObject({ superseded: true, droppedBy: ["g|deploy"], neededBy: [] });
    expect(view(l, v2).superseded).toBe(false);
  });

  it("two apps of one recipe never supersede each other", () => {
    let l = emptyLedger();
    l = pre(l, t(-2 * D), [v1], "g_ci");
    l = pre(l, t(-D), [v2], "pr7_g_ci");
    expect(view(l, v1)).toMatchObject({ superseded: false, neededBy: ["g_ci|deploy"] });
  });

  it("the upgrade tier: old version under deploy, new under upgrade, neither superseded", () => {
    let l = emptyLedger();
    for (const d of [3, 2, 1]) {
      l = pre(l, t(-d * D), [v1], "g", "deploy");
      l = pre(l, t(-d * D + 10 * 60_000), [v2], "g", "upgrade");
    }
    expect(view(l, v1).superseded).toBe(false);
    expect(view(l, v2).superseded).toBe(false);
  });

  it("one role for both versions: dropped in the session of its use, within its gap, it is not superseded", () => {
    let l = emptyLedger();
    for (const d of [3, 2, 1]) {
      l = pre(l, t(-d * D), [v1], "g", "upgrade");
      l = pre(l, t(-d * D + 10 * 60_000), [v2], "g", "upgrade");
    }
    // v1's usual gap is a day, last used a day ago minus 10 minutes' slack: not yet due again.
    const v = view(l, v1, t(-D + 23 * H));
    expect(v).toMatchObject({ droppedBy: ["g|upgrade"], superseded: false });
    // Once its gap has passed without a use, the alternation has stopped: superseded.
    expect(view(l, v1, t(-D + D)).superseded).toBe(true);
    // Dropped an hour after its use (not the same session): a real move, superseded at once.
    let m = emptyLedger();
    for (const d of [3, 2, 1]) m = pre(m, t(-d * D), [v1], "g", "upgrade");
    m = pre(m, t(-D + SESSION), [v2], "g", "upgrade");
    expect(view(m, v1, t(-D + SESSION + 1)).superseded).toBe(true);
  });

  it("uses seen by watch (an app without a role, no need set) never supersede", () => {
    let l = emptyLedger();
    l = use(l, t(-2 * D), [v1], "g", undefined);
    l = use(l, t(-D), [v1], "g", undefined);
    expect(view(l, v1)).toMatchObject({ superseded: false, droppedBy: [], recipes: ["g"] });
  });

  it("a use by the same app+role after its need set was written is not a drop", () => {
    let l = pre(emptyLedger(), t(-2 * D), [v2]);
    l = use(l, t(-D), [v1], "g", "deploy");
    expect(view(l, v1)).toMatchObject({ superseded: false, droppedBy: [] });
  });
});

const SESSION = 60 * 60 * 1000;

describe("issue 8: minAge protects arrivals, not uses", () => {
  const minAge = 24 * H;
  const at = (ms: number) => NOW.getTime() + ms;
  const planFor = (img: ImageFact, l: Ledger) =>
    planPrune(facts({ images: [img], ledger: l }), cfg({ minAge: "24h", reservation: "0s" }));
  const arrived = (id: string, ms: number, l = emptyLedger()) =>
    applyChange(l, { arrivals: [{ at: ms, id, how: "pull" }] }, NOW.getTime());
  const used = (id: string, ms: number, l: Ledger) =>
    applyChange(l, { uses: [{ at: ms, id, source: "container" }] }, NOW.getTime());

  it.each([
    ["pulled just under minAge ago, never used (docuum#177)", -minAge + 1, null, "keep"],
    ["pulled exactly minAge ago", -minAge, null, "remove"],
    ["pulled an hour ago and used at the same instant", -H, -H, "remove"],
    ["pulled an hour ago, last used a millisecond before", -H, -H - 1, "keep"],
    ["pulled an hour ago, used since", -H, -60_000, "remove"],
  ] as const)("%s", (_n, arrivalAgo, useAgo, action) => {
    const img = image(`${REG}/x/y:1`);
    let l = arrived(img.id, at(arrivalAgo), seen([img], 30 * D));
    if (useAgo !== null) l = used(img.id, at(useAgo), l);
    const p = planFor(img, l);
    expect([...p.kept, ...p.removable][0]!.action).toBe(action);
    if (action === "keep") expect(p.kept[0]!.code).toBe("too-young");
  });

  it("LastTagTime counts as an arrival, the later of it and the ledger's", () => {
    const img = image(`${REG}/x/y:1`, { lastTagTimeMs: at(-H) });
    let l = arrived(img.id, at(-5 * D), seen([img], 30 * D));
    l = used(img.id, at(-2 * D), l);
    expect(planFor(img, l).kept[0]?.code).toBe("too-young");
    const older = { ...img, lastTagTimeMs: at(-3 * D) };
    expect(planFor(older, l).kept).toEqual([]);
  });

  it("first seen stands in for an arrival only when nothing else is known", () => {
    const img = image(`${REG}/x/y:1`);
    const l = seen([img], H);
    expect(planFor(img, l).kept[0]?.reason).toMatch(/first seen by imagekeeper 1h0m ago/);
    const withUse = used(img.id, at(-2 * D), l);
    expect(planFor(img, withUse).kept).toEqual([]);
  });
});

describe("issue 8: reservation between a prepull and its deploy", () => {
  const img = image(`${REG}/r/app:1`);
  const at = (ms: number) => NOW.getTime() + ms;
  const prepull = (ms: number) =>
    prepulled(seen([img], 30 * D), {
      at: new Date(at(ms)),
      recipe: "r",
      app: "r_ci",
      ref: null,
      images: [{ ref: img.repoTags[0]!, id: img.id }],
    });
  const code = (l: Ledger, reservation = "15m", extra: Partial<PruneFacts> = {}) => {
    const p = planPrune(facts({ images: [img], ledger: l, ...extra }), cfg({ reservation, minAge: "0s" }));
    return [...p.kept, ...p.removable][0]!.code;
  };

  it.each([
    ["renewed just under the window ago", -15 * 60_000 + 1, "reserved"],
    ["renewed exactly the window ago", -15 * 60_000, "needed"],
  ] as const)("%s", (_n, ms, expected) => {
    expect(code(prepull(ms))).toBe(expected);
  });

  it("ends when watch sees the deploy's containers (the bare app), not before", () => {
    const l = prepull(-5 * 60_000);
    const deploy = (ms: number) =>
      applyChange(l, { uses: [{ at: at(ms), id: img.id, app: "r_ci", source: "container" }] }, NOW.getTime());
    expect(code(deploy(-4 * 60_000))).toBe("needed");
    // A container use by the app from before this prepull (yesterday's deploy) does not end it.
    const earlier = applyChange(
      prepulled(seen([img], 30 * D), {
        at: new Date(at(-D)),
        recipe: "r",
        app: "r_ci",
        ref: null,
        images: [{ ref: img.repoTags[0]!, id: img.id }],
      }),
      { uses: [{ at: at(-D + 60_000), id: img.id, app: "r_ci", source: "container" }] },
      at(-D + 60_000),
    );
    const again = prepulled(earlier, {
      at: new Date(at(-5 * 60_000)),
      recipe: "r",
      app: "r_ci",
      ref: null,
      images: [{ ref: img.repoTags[0]!, id: img.id }],
    });
    expect(code(again)).toBe("reserved");
  });

  it("0 turns the window off; PruneFacts.reserved still protects", () => {
    expect(code(prepull(-60_000), "0s")).toBe("needed");
    expect(code(prepull(-60_000), "0s", { reserved: [{ id: img.id, reason: "about to be used" }] })).toBe(
      "reserved",
    );
  });
});

describe("issue 8: clock-step safety at read", () => {
  it("a use in the future is clamped to now, not trusted", () => {
    const img = image(`${REG}/c/app:1`);
    // Written with a clock an hour ahead; read now.
    const l = applyChange(
      seen([img], 30 * D),
      { uses: [{ at: NOW.getTime() + H, id: img.id, source: "container" }] },
      NOW.getTime() + H,
    );
    const v = ledgerViews(l, [img], NOW.getTime()).get(img.id)!;
    expect(v.lastUseMs).toBe(NOW.getTime());
    expect(v.usesMs).toEqual([NOW.getTime()]);
    expect(lastUseOf(img, v, NOW.getTime())).toEqual({ ms: NOW.getTime(), source: "ledger" });
  });

  it("a need set from the future is due now, not a day later", () => {
    const img = image(`${REG}/c/app:1`);
    const l = prepulled(seen([img], 30 * D), {
      at: new Date(NOW.getTime() + 5 * H),
      recipe: "c",
      ref: null,
      images: [{ ref: img.repoTags[0]!, id: img.id }],
    });
    const v = ledgerViews(l, [img], NOW.getTime()).get(img.id)!;
    expect(v.neededNext!.atMs).toBe(NOW.getTime() + 24 * H);
  });
});

describe("issue 8: gate and target with incoming bytes and free-space thresholds", () => {
  const imgs = [image(`${REG}/t/a:1`), image(`${REG}/t/b:1`), image(`${REG}/t/c:1`)];
  it("incoming bytes reach the high watermark: the gate proceeds and the target makes room for them", () => {
    const c = cfg({ minAge: "0s" });
    const noIn = planPrune(facts({ images: imgs, disk: disk(80) }), c);
    expect(noIn.outcome).toBe("no-pressure");
    const withIn = planPrune(facts({ images: imgs, disk: disk(80), incomingBytes: 60 * 1024 * 1024 }), c);
    expect(withIn.gate.proceed).toBe(true);
    expect(withIn.incomingBytes).toBe(60 * 1024 * 1024);
    // 80% + 60 MiB of 1000 MiB: 860 MiB after the pull; below 70% needs 160 MiB + 1 byte: 2 images.
    expect(withIn.targetBytes).toBe(160 * 1024 * 1024 + 1);
    expect(withIn.expectedRemovals).toBe(2);
  });

  it("minFree alone triggers; maxFree sets the target", () => {
    const c = cfg({ minAge: "0s", minFree: "170MiB", maxFree: "400MiB" });
    const p = planPrune(facts({ images: imgs, disk: disk(86) }), c);
    expect(p.gate).toMatchObject({
      proceed: true,
      reason: "usage 86% is at or above the high watermark (85%)",
    });
    const q = planPrune(facts({ images: imgs, disk: disk(84) }), c);
    expect(q.gate).toMatchObject({
      proceed: true,
      reason: "160.0 MiB free is less than prune.minFree (170.0 MiB)",
    });
    // 840 MiB used, 160 MiB free: 240 MiB more to reach 400 MiB free (low 70% needs only 140 MiB).
    expect(q.targetBytes).toBe(240 * 1024 * 1024);
    expect(q.expectedRemovals).toBe(3);
  });
});

describe("mutation survivors of the final pass (issue 12): rules and the words of reasons", () => {
  const t = (ms: number) => NOW.getTime() + ms;
  const use = (l: Ledger, at: number, img: ImageFact, app: string, role?: string) =>
    applyChange(
      l,
      { uses: [{ at, id: img.id, ref: img.repoTags[0], app, role, source: role ? "prepull" : "container" }] },
      NOW.getTime(),
    );
  const pre = (l: Ledger, at: number, imgs: { ref: string; id: string | null }[], app = "a") =>
    prepulled(l, { at: new Date(at), recipe: app, app, ref: null, images: imgs });
  const old = cfg({ minAge: "1h", reservation: "0s" });

  it("parseLastTagTime: the first instant after docker's zero day is a time", () => {
    expect(parseLastTagTime("0001-01-02T00:00:00Z")).toBe(Date.parse("0001-01-02T00:00:00Z"));
  });

  it("no pressure with prune.minFree set says the free space is kept", () => {
    const g = decideGate(disk(50), cfg({ minFree: "100MiB" }), ALWAYS_OPEN, []);
    expect(g.reason).toBe(
      "usage 50% is below the high watermark (85%) with at least prune.minFree (100.0 MiB) free",
    );
  });

  it("ledgerViews: a need set's reference names the image that has the tag now, not the one recorded", () => {
    const now = image(`${REG}/a/app:1`);
    const before = image(null);
    const l = pre(seen([now, before]), t(-D), [{ ref: `${REG}/a/app:1`, id: before.id }]);
    const v = ledgerViews(l, [now, before], NOW.getTime());
    expect(v.get(now.id)?.neededBy).toEqual(["a|deploy"]);
    expect(v.get(before.id)?.neededBy).toEqual([]);
  });

  it("ledgerViews: one user naming an image twice needs it once; users and needers sorted", () => {
    const img = image("nginx:1.25");
    let l = pre(seen([img]), t(-2 * D), [{ ref: "nginx:1.25", id: img.id }], "b");
    l = pre(
      l,
      t(-D),
      [
        { ref: "nginx:1.25", id: img.id },
        { ref: "docker.io/library/nginx:1.25", id: img.id },
      ],
      "a",
    );
    expect(ledgerViews(l, [img], NOW.getTime()).get(img.id)).toMatchObject({
      neededBy: ["a|deploy", "b|deploy"],
      recipes: ["a|deploy", "b|deploy"],
    });
  });

  it("ledgerViews: droppedBy needs a need set written after the use that leaves the image out", () => {
    const img = image(`${REG}/a/app:1`);
    const other = image(`${REG}/a/app:2`);
    // Still named (by reference, no id recorded) in a need set newer than the use: not dropped.
    let l = pre(seen([img, other]), t(-3 * D), [{ ref: `${REG}/a/app:1`, id: img.id }]);
    l = pre(l, t(-D), [{ ref: `${REG}/a/app:1`, id: null }]);
    expect(ledgerViews(l, [img, other], NOW.getTime()).get(img.id)).toMatchObject({
      droppedBy: [],
      neededBy: ["a|deploy"],
    });
    // A need set written at the very time of the use is not "after" it.
    const same = applyChange(
      seen([img, other]),
      {
        uses: [{ at: t(-D), id: img.id, app: "a", role: "deploy", source: "prepull" }],
        needs: [
          {
            at: t(-D),
            app: "a",
            role: "deploy",
            recipe: "a",
            version: null,
            versionSource: "working-tree",
            images: [{ ref: `${REG}/a/app:2`, id: other.id }],
          },
        ],
      },
      NOW.getTime(),
    );
    expect(ledgerViews(same, [img, other], NOW.getTime()).get(img.id)).toMatchObject({
      droppedBy: [],
      superseded: false,
    });
  });

  it("ledgerViews: an alternation spares an image only when every user that dropped it alternates", () => {
    const v1 = image(`${REG}/g/app:1`);
    const v2 = image(`${REG}/g/app:2`);
    const r1 = { ref: v1.repoTags[0]!, id: v1.id };
    const r2 = { ref: v2.repoTags[0]!, id: v2.id };
    const preAs = (l: Ledger, at: number, imgs: (typeof r1)[], app: string, role: string) =>
      prepulled(l, { at: new Date(at), recipe: "g", app, role, ref: null, images: imgs });
    let l = seen([v1, v2]);
    // g|upgrade alternates: v1, then v2 ten minutes later, every day.
    for (const d of [3, 2, 1]) {
      l = preAs(l, t(-d * D), [r1], "g", "upgrade");
      l = preAs(l, t(-d * D + 10 * 60_000), [r2], "g", "upgrade");
    }
    const at = t(-D + 23 * H);
    expect(ledgerViews(l, [v1, v2], at).get(v1.id)).toMatchObject({
      droppedBy: ["g|upgrade"],
      superseded: false,
    });
    // h|deploy moved on from v1 a day after its last use: a real move, so v1 is superseded.
    for (const d of [3, 2]) l = preAs(l, t(-d * D), [r1], "h", "deploy");
    l = preAs(l, t(-D), [r2], "h", "deploy");
    expect(ledgerViews(l, [v1, v2], at).get(v1.id)).toMatchObject({
      droppedBy: ["g|upgrade", "h|deploy"],
      superseded: true,
    });
  });

  it("ledgerViews: the needing user whose next run is earliest; a user that stopped running does not count", () => {
    const img = image(`${REG}/a/app:1`);
    const ref = { ref: `${REG}/a/app:1`, id: img.id };
    // a and b both run daily, last a day ago: both next at NOW (due); the first in name order wins.
    let l = seen([img]);
    for (const d of [2, 1]) for (const app of ["b", "a"]) l = pre(l, t(-d * D), [ref], app);
    expect(ledgerViews(l, [img], NOW.getTime()).get(img.id)?.neededNext).toEqual({
      user: "a|deploy",
      atMs: NOW.getTime(),
      gapMs: D,
    });
    // c runs daily and last ran 2 hours ago: next in 22 hours; a is due now, so a.
    let m = seen([img]);
    for (const d of [2, 1]) m = pre(m, t(-d * D), [ref], "a");
    for (const h of [26, 2]) m = pre(m, t(-h * H), [ref], "c");
    expect(ledgerViews(m, [img], NOW.getTime()).get(img.id)?.neededNext?.user).toBe("a|deploy");
    // The earlier run wins whatever the name order: c due now, a in 22 hours.
    let e = seen([img]);
    for (const h of [26, 2]) e = pre(e, t(-h * H), [ref], "a");
    for (const d of [2, 1]) e = pre(e, t(-d * D), [ref], "c");
    expect(ledgerViews(e, [img], NOW.getTime()).get(img.id)?.neededNext?.user).toBe("c|deploy");
    // s ran daily a month ago (stopped); c still runs: c.
    let s = seen([img]);
    for (const d of [31, 30]) s = pre(s, t(-d * D), [ref], "s");
    for (const h of [26, 2]) s = pre(s, t(-h * H), [ref], "c");
    expect(ledgerViews(s, [img], NOW.getTime()).get(img.id)?.neededNext).toEqual({
      user: "c|deploy",
      atMs: t(22 * H),
      gapMs: D,
    });
  });

  it("ledgerViews: a need set without runs counts its own time as the one run", () => {
    const img = image(`${REG}/a/app:1`);
    const l = structuredClone(pre(seen([img]), t(-2 * H), [{ ref: `${REG}/a/app:1`, id: img.id }]));
    l.needs["a|deploy"]!.runs = [];
    expect(ledgerViews(l, [img], NOW.getTime()).get(img.id)?.neededNext).toEqual({
      user: "a|deploy",
      atMs: t(22 * H),
      gapMs: D,
    });
  });

  it("lastUseOf: the later of the ledger's arrival and LastTagTime (the ledger's on a tie), never after now", () => {
    const view = (arrivedMs: number | null) => ({
      usesMs: [],
      lastUseMs: null,
      arrivedMs,
      firstSeenMs: t(-30 * D),
      recipes: [],
      neededBy: [],
      droppedBy: [],
      reservedBy: [],
      neededNext: null,
      superseded: false,
    });
    const tagged = (ms: number | null) => image("x:1", { lastTagTimeMs: ms });
    expect(lastUseOf(tagged(t(-5 * D)), view(t(-3 * D)), NOW.getTime())).toEqual({
      ms: t(-3 * D),
      source: "arrival",
    });
    expect(lastUseOf(tagged(t(-3 * D)), view(t(-5 * D)), NOW.getTime())).toEqual({
      ms: t(-3 * D),
      source: "last-tag-time",
    });
    expect(lastUseOf(tagged(t(-3 * D)), view(t(-3 * D)), NOW.getTime())).toEqual({
      ms: t(-3 * D),
      source: "arrival",
    });
    expect(lastUseOf(tagged(null), view(t(D)), NOW.getTime())).toEqual({
      ms: NOW.getTime(),
      source: "arrival",
    });
  });

  it("a dangling image's reason says where its last use came from", () => {
    const fromLedger = image(null);
    const fromArrival = image(null);
    const fromTag = image(null, { lastTagTimeMs: t(-12 * D) });
    const firstSeen = image(null);
    let l = seen([fromLedger, fromArrival, fromTag, firstSeen], 20 * D);
    l = use(l, t(-10 * D), fromLedger, "w");
    l = applyChange(l, { arrivals: [{ at: t(-11 * D), id: fromArrival.id, how: "pull" }] }, NOW.getTime());
    const p = planPrune(facts({ images: [fromLedger, fromArrival, fromTag, firstSeen], ledger: l }), old);
    const reason = (img: ImageFact) => p.removable.find((r) => r.id === img.id)!.reason;
    expect(reason(fromLedger)).toBe("untagged, last used 10d0h ago (ledger)");
    expect(reason(fromArrival)).toBe("untagged, last used 11d0h ago (last pull/tag/build)");
    expect(reason(fromTag)).toBe("untagged, last used 12d0h ago (last tag/pull time)");
    expect(reason(firstSeen)).toBe("untagged, last used 20d0h ago (first seen by imagekeeper)");
  });

  it("in use by many containers: the first three named, and how many more", () => {
    const img = image("x:1");
    const ct = (k: number): ContainerFact => ({
      id: `c${k}`,
      name: `job${k}`,
      imageId: img.id,
      image: "x:1",
      state: k % 2 ? "running" : "exited",
    });
    const reasonWith = (k: number) =>
      planPrune(facts({ images: [img], containers: [1, 2, 3, 4, 5].slice(0, k).map(ct) }), old).kept[0]!
        .reason;
    expect(reasonWith(5)).toBe("used by container job1 (running), job2 (exited), job3 (running) and 2 more");
    expect(reasonWith(4)).toBe("used by container job1 (running), job2 (exited), job3 (running) and 1 more");
    expect(reasonWith(3)).toBe("used by container job1 (running), job2 (exited), job3 (running)");
  });

  it("a tagged image not in the ledger, with minAge 0: no history, not superseded", () => {
    const img = image("x:1");
    const p = planPrune(
      facts({ images: [img], ledger: emptyLedger() }),
      cfg({ minAge: "0s", reservation: "0s" }),
    );
    expect(p.removable.map((r) => [r.code, r.reason])).toEqual([
      ["lru", "no usage history; last used 0ms ago (first seen by imagekeeper)"],
    ]);
  });

  it("the reasons of the eviction classes", () => {
    const sup = image(`${REG}/s/app:1`);
    const due = image(`${REG}/n/app:1`);
    const later = image(`${REG}/m/app:1`);
    const overdue = image(`${REG}/o/app:1`);
    const predictedAgo = image(`${REG}/p/app:1`);
    const predictedIn = image(`${REG}/q/app:1`);
    const lru = image(`${REG}/l/app:1`);
    const all = [sup, due, later, overdue, predictedAgo, predictedIn, lru];
    let l = seen(all, 40 * D);
    // Superseded: two users needed it, both moved on.
    for (const app of ["s1", "s2"]) {
      l = pre(l, t(-3 * D), [{ ref: sup.repoTags[0]!, id: sup.id }], app);
      l = pre(l, t(-2 * D), [{ ref: `${REG}/s/app:2`, id: null }], app);
    }
    // Needed: n's next run is due now; m's in 22 hours.
    for (const d of [2, 1]) l = pre(l, t(-d * D), [{ ref: due.repoTags[0]!, id: due.id }], "n");
    for (const h of [26, 2]) l = pre(l, t(-h * H), [{ ref: later.repoTags[0]!, id: later.id }], "m");
    // Used by containers only (watch), daily: overdue after 9 days; due a day ago; due in 12 hours.
    for (const d of [10, 9]) l = use(l, t(-d * D), overdue, "o");
    for (const d of [3, 2]) l = use(l, t(-d * D), predictedAgo, "p");
    for (const h of [36, 12]) l = use(l, t(-h * H), predictedIn, "q");
    const p = planPrune(facts({ images: all, ledger: l, disk: disk(99) }), old);
    const reason = (img: ImageFact) => p.removable.find((r) => r.id === img.id)!.reason;
    expect(reason(sup)).toBe(
      "needed before by s1|deploy, s2|deploy, by none in its latest prepull; last used 3d0h ago",
    );
    expect(reason(due)).toBe(
      "needed by n|deploy, whose next run is expected now (due) (usual gap 1d0h); last used 1d0h ago",
    );
    expect(reason(later)).toBe(
      "needed by m|deploy, whose next run is expected in 22h0m (usual gap 1d0h); last used 2h0m ago",
    );
    expect(reason(overdue)).toBe("overdue: usual gap between uses 1d0h, last used 9d0h ago");
    expect(reason(predictedAgo)).toBe(
      "next use predicted 1d0h ago (due) (usual gap 1d0h, last used 2d0h ago)",
    );
    expect(reason(predictedIn)).toBe("next use predicted in 12h0m (usual gap 1d0h, last used 12h0m ago)");
    expect(reason(lru)).toBe("no usage history; last used 40d0h ago (first seen by imagekeeper)");
    expect(p.removable.find((r) => r.id === predictedIn.id)!.predictedNextUse).toBe(T(12 * H).toISOString());
    expect(p.removable.find((r) => r.id === overdue.id)!.predictedNextUse).toBeNull();
  });

  it("a use predicted for exactly now is due in 0ms, not overdue", () => {
    const img = image(`${REG}/p/app:1`);
    let l = seen([img], 40 * D);
    for (const d of [2, 1]) l = use(l, t(-d * D), img, "p");
    const p = planPrune(facts({ images: [img], ledger: l }), old);
    expect(p.removable[0]!.reason).toBe("next use predicted in 0ms (usual gap 1d0h, last used 1d0h ago)");
  });

  it("the dangling step in words: none, docker's prune, or one by one naming the protected images", () => {
    const tagged = image("x:1");
    expect(planPrune(facts({ images: [tagged] }), old).dangling).toEqual({
      method: "none",
      why: "no removable untagged image",
    });
    const stray = image(null);
    expect(planPrune(facts({ images: [tagged, stray] }), old).dangling).toEqual({
      method: "image-prune",
      why: "docker image prune (without --all) takes only images this plan removes",
    });
    const pinned1 = image(null, { digest: `${REG}/a/x@${dg("a")}` });
    const pinned2 = image(null, { digest: `${REG}/b/y@${dg("b")}` });
    const services: ServiceFact[] = [
      { id: "s1", name: "st_a", image: `${REG}/a/x:1@${dg("a")}`, previousImage: null },
      { id: "s2", name: "st_b", image: `${REG}/b/y:1@${dg("b")}`, previousImage: null },
    ];
    expect(planPrune(facts({ images: [stray, pinned1, pinned2], services }), old).dangling).toEqual({
      method: "each",
      why: `docker image prune would also take protected untagged image(s) ${REG}/a/x:<none>, ${REG}/b/y:<none> (digest-pinned swarm images are untagged, moby#31574): removing one by one instead`,
    });
  });

  it("describeBlocked: each reason with its count and bytes, or nothing left", () => {
    expect(describeBlocked([])).toBe("no image left to remove");
    const a = image("a:1");
    const b = image("b:1");
    const p = planPrune(
      facts({
        images: [a, b],
        ledger: emptyLedger(),
        containers: [{ id: "c", name: "c", imageId: a.id, image: "a:1", state: "running" }],
      }),
      old,
    );
    expect(describeBlocked(p.kept)).toBe("in-use: 1 image(s), 100.0 MiB; too-young: 1 image(s), 100.0 MiB");
  });
});

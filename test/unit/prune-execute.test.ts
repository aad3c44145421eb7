// The prune executor against a modelled host (test/support/prune-fakes.ts): a 1000-byte disk, so
// usage in percent is used bytes / 10, and images that free their bytes when docker removes them.
// Each test names the plausible one-line bug it rules out.
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { executePlan } from "../../src/prune/execute.js";
import { fakeDeps, plan, planned, world, type World } from "../support/prune-fakes.js";

/** low 70%, high 85%, critical 95%, minAge 24h. */
const cfg = (prune: Record<string, unknown> = {}) =>
  configSchema.parse({
    prune: {
      lowWatermarkPercent: 70,
      highWatermarkPercent: 85,
      criticalWatermarkPercent: 95,
      minFree: null,
      maxFree: null,
      ...prune,
    },
  }).prune;
const rm = (...ids: string[]) => ["image", "rm", ...ids];
const argvs = (w: World) => w.calls.map((c) => c.argv);
const ids = (xs: { image: { id: string } }[]) => xs.map((x) => x.image.id);

describe("tagged images: in plan order until usage is below the low watermark", () => {
  it("keeps removing while usage equals the low watermark (stops only below it)", async () => {
    const w = world(1000, 900, {
      a: { bytes: 100 },
      b: { bytes: 100 },
      c: { bytes: 100 },
      d: { bytes: 100 },
    });
    const p = plan(
      w,
      ["a", "b", "c", "d"].map((id, i) => planned(id, 100, "tagged", i + 1)),
      "none",
    );
    const r = await executePlan(p, cfg(), fakeDeps(w));
    // 90% → 80% → 70% (not below 70: go on) → 60%: stop.
    expect(argvs(w)).toEqual([rm("a"), rm("b"), rm("c")]);
    expect(ids(r.removed)).toEqual(["a", "b", "c"]);
    expect(r.notNeeded.map((n) => n.id)).toEqual(["d"]);
    expect(r.outcome).toBe("pruned");
    expect(r.after.usedBytes).toBe(600);
    expect(r.freedBytes).toBe(300);
    expect(r.skipped).toEqual([]);
  });

  it("removes nothing when the dangling step already got below low", async () => {
    const w = world(1000, 699, { a: { bytes: 100 } });
    const r = await executePlan(plan(w, [planned("a", 100, "tagged", 1)], "none"), cfg(), fakeDeps(w));
    expect(w.calls).toEqual([]);
    expect(r.notNeeded.map((n) => n.id)).toEqual(["a"]);
    expect(r.outcome).toBe("pruned");
    expect(r.freedBytes).toBe(0);
  });

  it("a fraction above low still removes", async () => {
    const w = world(1000, 701, { a: { bytes: 2 }, b: { bytes: 100 } });
    const p = plan(w, [planned("a", 2, "tagged", 1), planned("b", 100, "tagged", 2)], "none");
    const r = await executePlan(p, cfg(), fakeDeps(w));
    // 70.1% → 69.9%: below after the first.
    expect(ids(r.removed)).toEqual(["a"]);
    expect(r.notNeeded.map((n) => n.id)).toEqual(["b"]);
  });

  it("insufficient when the plan runs out at or above low", async () => {
    const w = world(1000, 900, { a: { bytes: 100 }, b: { bytes: 100 } });
    const p = plan(w, [planned("a", 100, "tagged", 1), planned("b", 100, "tagged", 2)], "none");
    const r = await executePlan(p, cfg(), fakeDeps(w));
    expect(ids(r.removed)).toEqual(["a", "b"]);
    expect(r.outcome).toBe("insufficient");
    expect(r.after.usedPercent).toBe(70);
    expect(r.notNeeded).toEqual([]);
  });

  it("measures after each removal and splits nothing within a single removal", async () => {
    const w = world(1000, 900, { a: { bytes: 150 }, b: { bytes: 100 } });
    const p = plan(w, [planned("a", 999, "tagged", 1), planned("b", 1, "tagged", 2)], "none");
    const r = await executePlan(p, cfg(), fakeDeps(w));
    // Freed bytes come from the filesystem, not the image sizes in the plan.
    // Each carries the disk measured right after it (a terminal's line per removal shows it).
    const told: string[] = [];
    const w2 = world(1000, 900, { a: { bytes: 150 }, b: { bytes: 100 } });
    const r2 = await executePlan(
      plan(w2, [planned("a", 999, "tagged", 1), planned("b", 1, "tagged", 2)], "none"),
      cfg(),
      {
        ...fakeDeps(w2),
        onRemoved: (x) => told.push(`${x.image.id} ${x.after?.usedBytes}`),
      },
    );
    expect(r.removed).toEqual([
      {
        image: expect.objectContaining({ id: "a" }),
        measuredFreedBytes: 150,
        after: expect.objectContaining({ usedBytes: 750 }),
      },
      {
        image: expect.objectContaining({ id: "b" }),
        measuredFreedBytes: 100,
        after: expect.objectContaining({ usedBytes: 650 }),
      },
    ]);
    expect(told).toEqual(["a 750", "b 650"]);
    expect(r2.removed.map((x) => x.after?.freeBytes)).toEqual([250, 350]);
    // After the dangling step, then before and after each removal.
    expect(w.measures).toEqual([900, 900, 750, 750, 750, 650, 650]);
  });
});

describe("prune.chunkSize", () => {
  it("removes that many images per docker image rm, measuring between chunks", async () => {
    const w = world(1000, 950, {
      a: { bytes: 100 },
      b: { bytes: 100 },
      c: { bytes: 100 },
      d: { bytes: 100 },
      e: { bytes: 100 },
    });
    const p = plan(
      w,
      ["a", "b", "c", "d", "e"].map((id, i) => planned(id, 100, "tagged", i + 1)),
      "none",
    );
    const r = await executePlan(p, cfg({ chunkSize: 2 }), fakeDeps(w));
    // 95% → 75% → 55%: two chunks; e is not needed.
    expect(argvs(w)).toEqual([rm("a", "b"), rm("c", "d")]);
    expect(r.notNeeded.map((n) => n.id)).toEqual(["e"]);
  });

  it("a last chunk may be shorter", async () => {
    const w = world(1000, 990, { a: { bytes: 100 }, b: { bytes: 100 }, c: { bytes: 100 } });
    const p = plan(
      w,
      ["a", "b", "c"].map((id, i) => planned(id, 100, "tagged", i + 1)),
      "none",
    );
    await executePlan(p, cfg({ chunkSize: 2 }), fakeDeps(w));
    expect(argvs(w)).toEqual([rm("a", "b"), rm("c")]);
  });

  it("shares the bytes a chunk freed among the images it removed", async () => {
    const w = world(1000, 900, { a: { bytes: 100 }, b: { bytes: 50 } });
    const p = plan(w, [planned("a", 1, "tagged", 1), planned("b", 1, "tagged", 2)], "none");
    const r = await executePlan(p, cfg({ chunkSize: 2 }), fakeDeps(w));
    expect(r.removed.map((x) => x.measuredFreedBytes)).toEqual([75, 75]);
  });
});

describe("the re-check just before a removal", () => {
  it("an image used since the plan was made is skipped, never given to docker", async () => {
    const w = world(1000, 900, {
      a: { bytes: 100 },
      b: { bytes: 100, usedNow: "used by container web (running)" },
      c: { bytes: 100 },
      d: { bytes: 100 },
    });
    const p = plan(
      w,
      ["a", "b", "c", "d"].map((id, i) => planned(id, 100, "tagged", i + 1)),
      "none",
    );
    const r = await executePlan(p, cfg(), fakeDeps(w));
    expect(argvs(w)).toEqual([rm("a"), rm("c"), rm("d")]);
    expect(w.images.has("b")).toBe(true);
    expect(r.skipped).toEqual([
      { image: expect.objectContaining({ id: "b" }), why: "in use now: used by container web (running)" },
    ]);
    expect(ids(r.removed)).toEqual(["a", "c", "d"]);
  });

  it("in a chunk, only the used image is held back", async () => {
    const w = world(1000, 900, { a: { bytes: 100 }, b: { bytes: 100, usedNow: "used" }, c: { bytes: 100 } });
    const p = plan(
      w,
      ["a", "b", "c"].map((id, i) => planned(id, 100, "tagged", i + 1)),
      "none",
    );
    await executePlan(p, cfg({ chunkSize: 3 }), fakeDeps(w));
    expect(argvs(w)).toEqual([rm("a", "c")]);
  });

  it("a chunk that is all used runs no docker command", async () => {
    const w = world(1000, 900, { a: { bytes: 100, usedNow: "used" } });
    const r = await executePlan(plan(w, [planned("a", 100, "tagged", 1)], "none"), cfg(), fakeDeps(w));
    expect(w.calls).toEqual([]);
    expect(r.removed).toEqual([]);
    expect(r.outcome).toBe("insufficient");
  });
});

describe("removals docker refuses", () => {
  it("are skipped with docker's first line, not counted as removed, and the prune goes on", async () => {
    const refusal =
      "Error response from daemon: conflict: unable to delete b (cannot be forced) - image is being used by running container 0123";
    const w = world(1000, 900, {
      a: { bytes: 100 },
      b: { bytes: 100, refuse: refusal },
      c: { bytes: 100 },
      d: { bytes: 100 },
    });
    const p = plan(
      w,
      ["a", "b", "c", "d"].map((id, i) => planned(id, 100, "tagged", i + 1)),
      "none",
    );
    const r = await executePlan(p, cfg(), fakeDeps(w));
    expect(ids(r.removed)).toEqual(["a", "c", "d"]);
    expect(r.skipped).toEqual([
      { image: expect.objectContaining({ id: "b" }), why: `refused by docker: ${refusal}` },
    ]);
    expect(w.images.has("b")).toBe(true);
    // Never retried, never with force.
    expect(argvs(w)).toEqual([rm("a"), rm("b"), rm("c"), rm("d")]);
  });

  it("without a message, the exit status says why", async () => {
    const w = world(1000, 900, { a: { bytes: 100, refuse: "x" } });
    w.silentRefusalExit = 1;
    const r = await executePlan(plan(w, [planned("a", 100, "tagged", 1)], "none"), cfg(), fakeDeps(w));
    expect(r.skipped.map((s) => s.why)).toEqual(["refused by docker: docker image rm exited 1"]);
  });

  it("in a chunk, the bytes freed go to the images really removed", async () => {
    const w = world(1000, 900, { a: { bytes: 60 }, b: { bytes: 100, refuse: "no" }, c: { bytes: 40 } });
    const p = plan(
      w,
      ["a", "b", "c"].map((id, i) => planned(id, 100, "tagged", i + 1)),
      "none",
    );
    const r = await executePlan(p, cfg({ chunkSize: 3 }), fakeDeps(w));
    expect(r.removed.map((x) => [x.image.id, x.measuredFreedBytes])).toEqual([
      ["a", 50],
      ["c", 50],
    ]);
    expect(r.skipped.map((s) => s.image.id)).toEqual(["b"]);
  });
});

describe("the dangling step", () => {
  const setup = () =>
    world(1000, 900, {
      x: { bytes: 50, dangling: true },
      y: { bytes: 30, dangling: true, pruneLeaves: true },
      a: { bytes: 100 },
      b: { bytes: 100 },
    });
  const removable = () => [
    planned("x", 50, "dangling", 1),
    planned("y", 30, "dangling", 2),
    planned("a", 100, "tagged", 3),
    planned("b", 100, "tagged", 4),
  ];

  it("image-prune: docker image prune (until=minAge, confirmed on stdin), then one by one what it left", async () => {
    const w = setup();
    const r = await executePlan(plan(w, removable(), "image-prune"), cfg({ minAge: "90m" }), fakeDeps(w));
    // 90% → prune takes x (85%) → rm y (82%) → rm a (72%) → rm b (62%).
    expect(argvs(w)).toEqual([["image", "prune", "--filter", "until=5400s"], rm("y"), rm("a"), rm("b")]);
    expect(w.calls[0]!.input).toBe("y\n");
    expect(w.calls[0]!.timeoutMs).toBe(30 * 60_000);
    expect(r.removed.map((x) => [x.image.id, x.measuredFreedBytes])).toEqual([
      ["x", 0],
      ["y", 30],
      ["a", 100],
      ["b", 100],
    ]);
    expect(w.images.size).toBe(0);
  });

  it("image-prune that fails: each dangling image one by one", async () => {
    const w = setup();
    w.pruneExit = 1;
    const r = await executePlan(plan(w, removable(), "image-prune"), cfg(), fakeDeps(w));
    expect(argvs(w).slice(1, 3)).toEqual([rm("x"), rm("y")]);
    expect(ids(r.removed).slice(0, 2)).toEqual(["x", "y"]);
  });

  it("each: one by one, no docker image prune", async () => {
    const w = setup();
    const r = await executePlan(plan(w, removable(), "each"), cfg(), fakeDeps(w));
    expect(argvs(w)).toEqual([rm("x"), rm("y"), rm("a"), rm("b")]);
    expect(ids(r.removed)).toEqual(["x", "y", "a", "b"]);
  });

  it("dangling images go even when usage is already below low (they are all removed)", async () => {
    const w = world(1000, 500, { x: { bytes: 50, dangling: true }, y: { bytes: 50, dangling: true } });
    const p = plan(w, [planned("x", 50, "dangling", 1), planned("y", 50, "dangling", 2)], "each");
    const r = await executePlan(p, cfg(), fakeDeps(w));
    expect(ids(r.removed)).toEqual(["x", "y"]);
  });

  it("none: no dangling command at all", async () => {
    const w = setup();
    await executePlan(plan(w, removable().slice(2), "none"), cfg(), fakeDeps(w));
    expect(argvs(w)).toEqual([rm("a"), rm("b")]);
  });

  it("the usage that decides the tagged step is measured after the dangling step", async () => {
    // Before: 78%; the prune takes 10%: 68%, below low, so no tagged image goes.
    const w = world(1000, 780, { x: { bytes: 100, dangling: true }, a: { bytes: 100 } });
    const p = plan(w, [planned("x", 100, "dangling", 1), planned("a", 100, "tagged", 2)], "image-prune");
    const r = await executePlan(p, cfg(), fakeDeps(w));
    expect(r.notNeeded.map((n) => n.id)).toEqual(["a"]);
    expect(r.outcome).toBe("pruned");
    expect(r.freedBytes).toBe(100);
  });
});

describe("prune.buildCache", () => {
  it("true: docker builder prune (until=minAge, confirmed on stdin) after the dangling step", async () => {
    const w = world(1000, 900, { x: { bytes: 50, dangling: true }, a: { bytes: 100 } });
    w.buildCacheBytes = 300;
    const p = plan(w, [planned("x", 50, "dangling", 1), planned("a", 100, "tagged", 2)], "image-prune");
    const r = await executePlan(p, cfg({ buildCache: true, minAge: "1h" }), fakeDeps(w));
    expect(argvs(w)).toEqual([
      ["image", "prune", "--filter", "until=3600s"],
      ["builder", "prune", "--filter", "until=3600s"],
    ]);
    expect(w.calls[1]!.input).toBe("y\n");
    expect(w.calls[1]!.timeoutMs).toBe(30 * 60_000);
    // 90% → 85% → 55%: the cache was enough.
    expect(r.notNeeded.map((n) => n.id)).toEqual(["a"]);
  });

  it("false: no builder prune", async () => {
    const w = world(1000, 900, { a: { bytes: 300 } });
    w.buildCacheBytes = 300;
    await executePlan(
      plan(w, [planned("a", 300, "tagged", 1)], "none"),
      cfg({ buildCache: false }),
      fakeDeps(w),
    );
    expect(argvs(w)).toEqual([rm("a")]);
  });
});

describe("docker commands", () => {
  it("never force, never --all, and the signal and a timeout on each", async () => {
    const w = world(1000, 900, { x: { bytes: 50, dangling: true }, a: { bytes: 100 }, b: { bytes: 100 } });
    w.buildCacheBytes = 10;
    const p = plan(
      w,
      [planned("x", 50, "dangling", 1), planned("a", 100, "tagged", 2), planned("b", 100, "tagged", 3)],
      "image-prune",
    );
    await executePlan(p, cfg({ buildCache: true }), fakeDeps(w, { signal: true, lockFd: 7 }));
    expect(w.calls.length).toBe(4);
    for (const c of w.calls) {
      expect(c.argv.some((a) => /^(-f|--force|-a|--all)$/.test(a))).toBe(false);
      // A removal is never handed the abort signal: it runs to its end, holding the prune lock.
      expect(c.signal).toBe(false);
      expect(c.runToCompletion).toBe(true);
      expect(c.fds).toEqual([7]);
    }
    expect(w.calls.map((c) => c.timeoutMs)).toEqual([30 * 60_000, 30 * 60_000, 5 * 60_000, 5 * 60_000]);
  });

  it("without a lock descriptor, none is passed; still run to completion", async () => {
    const w = world(1000, 900, { x: { bytes: 50, dangling: true }, a: { bytes: 100 } });
    w.buildCacheBytes = 10;
    const p = plan(w, [planned("x", 50, "dangling", 1), planned("a", 100, "tagged", 2)], "image-prune");
    await executePlan(p, cfg({ buildCache: true }), fakeDeps(w));
    expect(w.calls.map((c) => [c.signal, c.runToCompletion, c.fds])).toEqual([
      [false, true, []],
      [false, true, []],
      [false, true, []],
    ]);
    expect(w.calls[2]!.timeoutMs).toBe(5 * 60_000);
  });
});

describe("abort between steps", () => {
  const four = () =>
    world(1000, 950, {
      x: { bytes: 10, dangling: true },
      y: { bytes: 10, dangling: true },
      a: { bytes: 100 },
      b: { bytes: 100 },
    });
  const removable = () => [
    planned("x", 10, "dangling", 1),
    planned("y", 10, "dangling", 2),
    planned("a", 100, "tagged", 3),
    planned("b", 100, "tagged", 4),
  ];
  it.each([
    ["after docker image prune", "image-prune", false, 1, [["image", "prune", "--filter", "until=86400s"]]],
    [
      "after docker builder prune",
      "image-prune",
      true,
      2,
      [
        ["image", "prune", "--filter", "until=86400s"],
        ["builder", "prune", "--filter", "until=86400s"],
      ],
    ],
    ["after the first dangling removal", "each", false, 1, [rm("x")]],
    ["after the first tagged removal", "none", false, 1, [rm("a")]],
  ] as const)(
    "%s: rejects with the reason, nothing more runs",
    async (_n, method, buildCache, n, expected) => {
      const w = four();
      w.abortAfterCall = n;
      const rem = method === "none" ? removable().slice(2) : removable();
      await expect(
        executePlan(plan(w, rem, method), cfg({ buildCache }), fakeDeps(w, { signal: true })),
      ).rejects.toThrow("interrupted");
      expect(argvs(w)).toEqual(expected);
    },
  );

  it("an abort that arrives between removals stops before the next one", async () => {
    const w = four();
    const deps = fakeDeps(w, { signal: true });
    // The abort arrives while the executor measures after the first tagged removal.
    const measure = deps.measure;
    deps.measure = async () => {
      const u = await measure();
      if (w.calls.length === 1 && w.measures.length === 4) w.controller.abort(new Error("interrupted"));
      return u;
    };
    await expect(executePlan(plan(w, removable().slice(2), "none"), cfg(), deps)).rejects.toThrow(
      "interrupted",
    );
    expect(argvs(w)).toEqual([rm("a")]);
  });

  it("each: an abort between dangling removals stops before the next one", async () => {
    const w = four();
    const deps = fakeDeps(w, { signal: true });
    const exists = deps.exists;
    deps.exists = async (id) => {
      const r = await exists(id);
      if (id === "x") w.controller.abort(new Error("interrupted"));
      return r;
    };
    await expect(executePlan(plan(w, removable(), "each"), cfg(), deps)).rejects.toThrow("interrupted");
    expect(argvs(w)).toEqual([rm("x")]);
  });
});

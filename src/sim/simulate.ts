// The trace simulator: replays a CI trace on a modelled host through exactly the code a host runs.
// Each run of the trace, in time order:
//   1. arrives at `t`; if a drain is in progress it waits behind it (src/prune/gap.ts);
//   2. its prepull measures the disk and asks `gapPruneDecision(disk, bytes it will pull)`; if a
//      prune is due it announces a drain: new runs wait, the live leases end (bounded by
//      `prune.gapWait`; if that runs out, no prune and everyone proceeds), then the normal prune
//      (`planPrune` + `executePlan`) runs with this prepull's images reserved and room made for its
//      incoming bytes;
//   3. it pulls what is missing (at `pullBytesPerSecond`), then records its uses, arrivals and need
//      sets through `applyChange`, as prepull does;
//   4. before its run lease, the same gap check with nothing incoming (a drain and prune if due);
//   5. it takes its lease for `durationS`; an image gone by then is pulled again by the deploy;
//      `imagekeeper watch` records the containers' uses.
// The prune timer (NixOS `prune.dates`, hourly) records a sighting and prunes unless leases are
// live (deferred). The executor removes images from the modelled store through fake ExecuteDeps
// that re-measure after each removal. Baselines on the same mechanism: plain LRU order with the same
// protections and thresholds, and NixOS autoPrune (`docker system prune -af --filter until=…` daily,
// no imagekeeper prune at all). Pure except for the clock it simulates; deterministic.
import type { Config } from "../config/schema.js";
import type { LeaseInfo } from "../lease/lease.js";
import type { ImageUse, NeedSet } from "../model/use.js";
import { executePlan } from "../prune/execute.js";
import { gapPruneDecision } from "../prune/gap.js";
import { evictionOrder } from "../prune/order.js";
import {
  decideGate,
  ledgerViews,
  type PlannedImage,
  type PruneFacts,
  type PrunePlan,
  planPrune,
  type ReservedImage,
} from "../prune/plan.js";
import { ALWAYS_OPEN, windowState } from "../prune/window.js";
import { applyChangeInPlace, emptyLedger, type Ledger } from "../state/ledger.js";
import { EventQueue } from "./heap.js";
import { ModelStore, modelDeps } from "./store.js";
import type { TraceImage, TraceRun } from "./trace.js";

/**
 * "imagekeeper": the prune policy as shipped. Baselines on the same trace: "lru" (the same
 * mechanism and protections, least recently used first), "oracle" (the same mechanism and
 * protections, the trace's actual next use farthest first: Belady's order inside the rules a host
 * keeps), "autoprune" (NixOS autoPrune: no imagekeeper prune at all).
 */
export type SimPolicy = "imagekeeper" | "lru" | "oracle" | "autoprune";

export interface SimOptions {
  capacityBytes: number;
  config: Config;
  /** "imagekeeper" (default), or a baseline. */
  policy?: SimPolicy;
  /** Prune timer period, aligned to multiples of it since the epoch (hourly: 3 600 000). Null: none. */
  timerEveryMs?: number | null;
  /** Download and extract rate of a pull. */
  pullBytesPerSecond?: number;
  /** For policy "autoprune": when each day (ms after 00:00 UTC) it runs, and its `until=` age. */
  autoPrune?: { atMsOfDay: number; untilMs: number };
  /**
   * Re-orders each plan's removable images (an experiment: e.g. by the trace's actual next uses,
   * the mechanism with an oracle's order). Applied after the policy's own order.
   */
  reorder?: (plan: PrunePlan, nowMs: number) => PrunePlan;
  /**
   * Model `imagekeeper watch` (default true): the deploy's containers are recorded as uses of the
   * app. Without it only prepulls record anything.
   */
  watch?: boolean;
  /**
   * Ablations for docs/performance.md: the policy with one issue-8 change undone. `minAgeOnUses`:
   * minAge protects every image used less than minAge ago (the old rule); `imageRhythmOnly`: the
   * order predicts next use from the image's own history only, not from the apps that need it.
   */
  ablate?: { minAgeOnUses?: boolean; imageRhythmOnly?: boolean };
  /** Called with every prune's facts and plan (tests, diagnostics). */
  onPlan?: (facts: PruneFacts, plan: PrunePlan) => void;
}

export const DEFAULT_PULL_BYTES_PER_SECOND = 50 * 1024 * 1024;
export const HOURLY_MS = 3_600_000;
/** NixOS virtualisation.docker.autoPrune with `dates = "daily"` (00:00) and `--filter until=24h`. */
export const AUTOPRUNE_DEFAULT = { atMsOfDay: 0, untilMs: 24 * HOURLY_MS };

export interface SimResult {
  policy: SimPolicy;
  capacityBytes: number;
  runs: number;
  pulls: number;
  pulledBytes: number;
  /** Bytes pulled again after the image's first pull. */
  repulledBytes: number;
  peakBytes: number;
  /** Runs whose pulls found the disk over capacity (on a host: a failed pull, "no space left"). */
  overCapacityRuns: number;
  /** Images gone between a run's prepull and its deploy, pulled again by the deploy. */
  deployPulls: number;
  /** Prune attempts by outcome (timer and gap prunes; autoPrune counts each daily run as pruned). */
  prunes: Record<string, number>;
  /** Drains announced by a gap check, and how many of them gave up (gapWait ran out, no prune). */
  gapDrains: number;
  gapGiveUps: number;
  removals: number;
  removedBytes: number;
  /** Runs that waited behind drains for longer than `lease.wait` (on a host: exit 4). */
  leaseTimeouts: number;
  delay: { delayedRuns: number; totalS: number; maxS: number };
  /** Re-pulled bytes by the order class the image was removed under (what the order got wrong). */
  repulledByClass: Record<string, number>;
}

interface Lease {
  runId: string;
  since: number;
  end: number;
  ids: Set<string>;
}

interface RunState {
  run: TraceRun;
  /** Distinct images, first mention of each. */
  images: TraceImage[];
  /** Time waited behind drains, in all. */
  waitedMs: number;
  /** Time waited in the current stage: the prepull and the run are two commands, each bounded by lease.wait. */
  stageWaitMs: number;
  waitSince: number | null;
  over: boolean;
  /** The run ended waiting (lease.wait ran out). */
  dropped: boolean;
}

interface Drain {
  endsAt: number;
  prune: boolean;
  reserved: ReservedImage[];
  incoming: number;
  waiters: (() => Promise<void>)[];
}

interface Ev {
  t: number;
  fn: () => Promise<void>;
}

/** The app as prepull and `imagekeeper watch` name it: its swarm stack name (dots → underscores). */
export const stackName = (app: string) => app.replace(/\./g, "_");

function emptyResult(policy: SimPolicy, capacityBytes: number): SimResult {
  return {
    policy,
    capacityBytes,
    runs: 0,
    pulls: 0,
    pulledBytes: 0,
    repulledBytes: 0,
    peakBytes: 0,
    overCapacityRuns: 0,
    deployPulls: 0,
    prunes: {},
    gapDrains: 0,
    gapGiveUps: 0,
    removals: 0,
    removedBytes: 0,
    leaseTimeouts: 0,
    delay: { delayedRuns: 0, totalS: 0, maxS: 0 },
    repulledByClass: {},
  };
}

export async function simulate(runs: readonly TraceRun[], opts: SimOptions): Promise<SimResult> {
  return new Simulation(runs, opts).run();
}

class Simulation {
  private readonly cfg: Config["prune"];
  private readonly policy: SimPolicy;
  private readonly store: ModelStore;
  private readonly q = new EventQueue<Ev>();
  private readonly leases = new Map<string, Lease>();
  private readonly everPulled = new Set<string>();
  /** The order class each removed image was removed under. */
  private readonly removedAs = new Map<string, string>();
  private readonly out: SimResult;
  private readonly pullRate: number;
  private ledger: Ledger = emptyLedger();
  /** Runs that have arrived and not yet taken their lease (their images are needed now). */
  private readonly pending = new Map<RunState, Set<string>>();
  /** For the oracle: each image's use times (arrivals of the runs that need it), ascending. */
  private readonly useTimes = new Map<string, number[]>();
  private drain: Drain | null = null;
  private now = 0;

  constructor(
    private readonly runs: readonly TraceRun[],
    private readonly opts: SimOptions,
  ) {
    this.cfg = opts.config.prune;
    this.policy = opts.policy ?? "imagekeeper";
    this.store = new ModelStore(opts.capacityBytes);
    this.out = emptyResult(this.policy, opts.capacityBytes);
    this.pullRate = opts.pullBytesPerSecond ?? DEFAULT_PULL_BYTES_PER_SECOND;
  }

  async run(): Promise<SimResult> {
    if (this.runs.length === 0) return this.out;
    for (const r of this.runs) {
      const seen = new Set<string>();
      const images = r.images.filter((i) => !seen.has(i.id) && seen.add(i.id));
      const rs: RunState = {
        run: r,
        images,
        waitedMs: 0,
        stageWaitMs: 0,
        waitSince: null,
        over: false,
        dropped: false,
      };
      this.q.push({
        t: r.t,
        fn: () => {
          this.pending.set(rs, new Set(images.map((i) => i.id)));
          return this.prepull(rs);
        },
      });
      for (const i of images) {
        const u = this.useTimes.get(i.id) ?? [];
        if (u[u.length - 1] !== r.t) u.push(r.t);
        this.useTimes.set(i.id, u);
      }
    }
    const first = this.runs[0]!.t;
    const last = Math.max(...this.runs.map((r) => r.t + r.durationS * 1000));
    this.schedulePeriodic(first, last);
    for (let e = this.q.pop(); e; e = this.q.pop()) {
      this.now = e.t;
      await e.fn();
    }
    this.out.runs = this.runs.length;
    this.out.delay.totalS = Math.round(this.out.delay.totalS);
    this.out.delay.maxS = Math.round(this.out.delay.maxS);
    return this.out;
  }

  private schedulePeriodic(first: number, last: number): void {
    if (this.policy === "autoprune") {
      const a = this.opts.autoPrune ?? AUTOPRUNE_DEFAULT;
      const day = 86_400_000;
      for (let t = Math.floor(first / day) * day + a.atMsOfDay; t <= last + day; t += day)
        if (t >= first) this.q.push({ t, fn: async () => this.autoPrune(a.untilMs) });
      return;
    }
    const every = this.opts.timerEveryMs === undefined ? HOURLY_MS : this.opts.timerEveryMs;
    if (every === null) return;
    for (let t = Math.ceil(first / every) * every; t <= last + every; t += every)
      this.q.push({ t, fn: () => this.timerPrune() });
  }

  private get gapPrunes(): boolean {
    return this.policy !== "autoprune" && this.cfg.beforeRuns;
  }

  // ---- a run's stages ----

  /** Wait behind the drain in progress; resume with `stage` when it ends. */
  private waitBehindDrain(rs: RunState, stage: () => Promise<void>): void {
    rs.waitSince ??= this.now;
    this.drain!.waiters.push(() => this.resume(rs, stage));
  }

  private async resume(rs: RunState, stage: () => Promise<void>): Promise<void> {
    if (rs.waitSince !== null) {
      rs.waitedMs += this.now - rs.waitSince;
      rs.stageWaitMs += this.now - rs.waitSince;
      rs.waitSince = null;
    }
    if (rs.stageWaitMs > this.opts.config.lease.wait) {
      // On a host the run would have given up at lease.wait (exit 4); it never deploys.
      if (!rs.dropped) this.out.leaseTimeouts++;
      rs.dropped = true;
      this.account(rs);
      return;
    }
    await stage();
  }

  private async prepull(rs: RunState): Promise<void> {
    if (this.drain) return this.waitBehindDrain(rs, () => this.prepull(rs));
    const missing = rs.images.filter((i) => !this.store.has(i.id));
    const incoming = missing.reduce((n, i) => n + i.sizeBytes, 0);
    if (this.gapPrunes && gapPruneDecision(this.store.disk(), incoming, this.cfg).prune) {
      const reserved = rs.images
        .filter((i) => this.store.has(i.id))
        .map((i) => ({
          id: i.id,
          reason: `about to be used by the prepull of ${stackName(rs.run.app)} (run ${rs.run.run})`,
        }));
      return this.startDrain(rs, reserved, incoming, () => this.pull(rs));
    }
    await this.pull(rs);
  }

  private pullImage(rs: RunState, i: TraceImage): void {
    this.store.pull(i.ref, i.id, i.sizeBytes, i.created ?? 0);
    this.out.pulls++;
    this.out.pulledBytes += i.sizeBytes;
    if (this.everPulled.has(i.id)) {
      this.out.repulledBytes += i.sizeBytes;
      const c = this.removedAs.get(i.id) ?? "autoprune";
      this.out.repulledByClass[c] = (this.out.repulledByClass[c] ?? 0) + i.sizeBytes;
    }
    this.everPulled.add(i.id);
    if (this.store.usedBytes > this.opts.capacityBytes) rs.over = true;
    this.out.peakBytes = Math.max(this.out.peakBytes, this.store.usedBytes);
  }

  private async pull(rs: RunState): Promise<void> {
    let bytes = 0;
    const pulled = new Set<string>();
    for (const i of rs.images) {
      if (this.store.has(i.id)) {
        this.store.pull(i.ref, i.id, i.sizeBytes, i.created ?? 0); // the name, if it moved
        continue;
      }
      this.pullImage(rs, i);
      pulled.add(i.id);
      bytes += i.sizeBytes;
    }
    // `imagekeeper watch` records each pull as an arrival when the engine reports it: from then
    // on `prune.minAge` protects the image until its prepull records the use.
    if (pulled.size && this.opts.watch !== false)
      this.record({
        arrivals: rs.images
          .filter((i) => pulled.has(i.id))
          .map((i) => ({ at: this.now, id: i.id, ref: i.ref, how: "pull" as const, sizeBytes: i.sizeBytes })),
      });
    const done = this.now + Math.round((bytes / this.pullRate) * 1000);
    this.q.push({ t: done, fn: () => this.prepullDone(rs, pulled) });
  }

  /** The prepull's record: uses and need sets per role, arrivals of what it pulled. */
  private async prepullDone(rs: RunState, pulled: Set<string>): Promise<void> {
    rs.stageWaitMs = 0; // the prepull command is done; `imagekeeper run` waits on its own
    const app = stackName(rs.run.app);
    const at = this.now;
    const roles = new Map<string, TraceImage[]>();
    for (const i of rs.run.images) {
      const role = i.role ?? "deploy";
      roles.set(role, [...(roles.get(role) ?? []), i]);
    }
    const uses: ImageUse[] = [];
    const needs: NeedSet[] = [];
    for (const [role, imgs] of roles) {
      for (const i of imgs) uses.push({ at, id: i.id, ref: i.ref, app, role, source: "prepull" });
      needs.push({
        at,
        app,
        role,
        recipe: rs.run.recipe,
        version: null,
        versionSource: "pinned",
        images: imgs.map((i) => ({ ref: i.ref, id: i.id })),
      });
    }
    this.record({
      uses,
      needs,
      arrivals: rs.images
        .filter((i) => pulled.has(i.id))
        .map((i) => ({ at, id: i.id, ref: i.ref, how: "pull" as const })),
    });
    await this.beforeLease(rs);
  }

  private async beforeLease(rs: RunState): Promise<void> {
    if (this.drain) return this.waitBehindDrain(rs, () => this.beforeLease(rs));
    if (this.gapPrunes && gapPruneDecision(this.store.disk(), 0, this.cfg).prune)
      return this.startDrain(rs, [], 0, () => this.takeLease(rs));
    await this.takeLease(rs);
  }

  private async takeLease(rs: RunState): Promise<void> {
    // The deploy needs every image now; swarm pulls what is gone (what prepull exists to avoid).
    for (const i of rs.images)
      if (!this.store.has(i.id)) {
        this.out.deployPulls++;
        this.pullImage(rs, i);
      }
    const lease: Lease = {
      runId: rs.run.run,
      since: this.now,
      end: this.now + rs.run.durationS * 1000,
      ids: new Set(rs.images.map((i) => i.id)),
    };
    const key = `${rs.run.run}#${this.out.pulls}`;
    this.leases.set(key, lease);
    // `imagekeeper watch`: the containers' uses, under the app (a container's stack label has no role).
    if (this.opts.watch !== false)
      this.record({
        uses: rs.images.map((i) => ({
          at: this.now,
          id: i.id,
          ref: i.ref,
          app: stackName(rs.run.app),
          source: "container" as const,
        })),
      });
    this.account(rs);
    this.q.push({ t: lease.end, fn: async () => void this.leases.delete(key) });
  }

  private account(rs: RunState): void {
    this.pending.delete(rs);
    if (rs.over) this.out.overCapacityRuns++;
    if (rs.waitedMs > 0) {
      const s = rs.waitedMs / 1000;
      this.out.delay.delayedRuns++;
      this.out.delay.totalS += s;
      this.out.delay.maxS = Math.max(this.out.delay.maxS, s);
    }
  }

  // ---- drains and prunes ----

  private startDrain(
    rs: RunState,
    reserved: ReservedImage[],
    incoming: number,
    then: () => Promise<void>,
  ): void {
    const liveEnd = Math.max(this.now, ...[...this.leases.values()].map((l) => l.end));
    const prune = liveEnd - this.now <= this.cfg.gapWait;
    const endsAt = prune ? liveEnd : this.now + this.cfg.gapWait;
    this.out.gapDrains++;
    if (!prune) this.out.gapGiveUps++;
    rs.waitSince = this.now;
    const drain: Drain = {
      endsAt,
      prune,
      reserved,
      incoming,
      waiters: [() => this.resume(rs, then)],
    };
    this.drain = drain;
    this.q.push({
      t: endsAt,
      fn: async () => {
        if (drain.prune) await this.prune("gap", drain.reserved, drain.incoming);
        this.drain = null;
        for (const w of drain.waiters) await w();
      },
    });
  }

  private leaseInfos(): LeaseInfo[] {
    return [...this.leases.values()].map((l, i) => ({
      id: l.runId,
      pid: 1000 + i,
      command: `run ${l.runId}`,
      since: new Date(l.since).toISOString(),
      kind: "run" as const,
    }));
  }

  private inUse = (id: string): boolean => {
    for (const l of this.leases.values()) if (l.ids.has(id)) return true;
    return false;
  };

  private count(outcome: string): void {
    this.out.prunes[outcome] = (this.out.prunes[outcome] ?? 0) + 1;
  }

  private async timerPrune(): Promise<void> {
    // The exclusive lock is held by a drain in progress, or runs hold leases: the prune defers.
    await this.prune("timer", [], 0);
  }

  private async prune(trigger: "timer" | "gap", reserved: ReservedImage[], incoming: number): Promise<void> {
    const nowMs = this.now;
    // As `imagekeeper prune` does: a sighting of every image first, pressure or not.
    const present = [...this.store.images.values()];
    this.record({
      sighting: {
        at: nowMs,
        present: present.map((i) => i.id),
        sizes: Object.fromEntries(present.map((i) => [i.id, i.sizeBytes])),
      },
    });
    const disk = this.store.disk();
    // A gap prune ignores prune.window (the run about to start needs the room now), as
    // src/prune/gap-prune.ts tells runPrune (ignoreWindow); the timer's prune respects it.
    const window =
      trigger === "timer" && this.cfg.window
        ? await windowState(this.cfg.window, this.cfg.windowDuration, new Date(nowMs))
        : ALWAYS_OPEN;
    const leases = trigger === "timer" ? this.leaseInfos() : [];
    const gate = decideGate(disk, this.cfg, window, leases, incoming);
    if (!gate.proceed) return this.count(gate.outcome);
    if (trigger === "timer" && this.drain) return this.count("deferred");
    const facts: PruneFacts = {
      now: new Date(nowMs),
      disk,
      images: this.store.facts(),
      containers: [],
      services: [],
      ledger: this.ledger,
      window,
      leases: [],
      reserved,
      incomingBytes: incoming,
    };
    let plan = planPrune(facts, this.cfg);
    if (this.opts.ablate) plan = ablated(plan, facts, this.cfg, this.opts.ablate);
    if (this.policy === "lru") plan = lruOrder(plan);
    if (this.policy === "oracle") plan = reorderBy(plan, (id) => -this.nextUse(id, nowMs));
    if (this.opts.reorder) plan = this.opts.reorder(plan, nowMs);
    this.opts.onPlan?.(facts, plan);
    const before = this.store.usedBytes;
    const exec = await executePlan(plan, this.cfg, modelDeps(this.store, nowMs, this.inUse));
    this.count(exec.outcome);
    this.out.removals += exec.removed.length;
    this.out.removedBytes += before - this.store.usedBytes;
    for (const r of exec.removed) this.removedAs.set(r.image.id, r.image.code);
    // `imagekeeper watch` sees the delete events.
    if (exec.removed.length) this.record({ gone: exec.removed.map((r) => ({ at: nowMs, id: r.image.id })) });
  }

  /** The oracle's knowledge: when the image is needed next (now, for a run under way). */
  private nextUse(id: string, nowMs: number): number {
    for (const ids of this.pending.values()) if (ids.has(id)) return nowMs;
    const u = this.useTimes.get(id) ?? [];
    let lo = 0;
    let hi = u.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (u[mid]! <= nowMs) lo = mid + 1;
      else hi = mid;
    }
    return lo < u.length ? u[lo]! : Number.POSITIVE_INFINITY;
  }

  private autoPrune(untilMs: number): void {
    const before = this.store.usedBytes;
    const n = this.store.systemPruneAll(this.now - untilMs, this.inUse);
    this.count("pruned");
    this.out.removals += n;
    this.out.removedBytes += before - this.store.usedBytes;
  }

  private record(change: Parameters<typeof applyChangeInPlace>[1]): void {
    if (this.policy === "autoprune") return; // no imagekeeper on that host
    this.ledger = applyChangeInPlace(this.ledger, change, this.now, {
      horizonMs: this.opts.config.ledger.horizon,
    });
  }
}

function ablated(
  plan: PrunePlan,
  f: PruneFacts,
  cfg: Config["prune"],
  a: NonNullable<SimOptions["ablate"]>,
): PrunePlan {
  const nowMs = f.now.getTime();
  let p = plan;
  if (a.imageRhythmOnly) {
    const views = ledgerViews(f.ledger, f.images, nowMs, cfg.reservation);
    const order = evictionOrder(
      p.removable
        .filter((r) => r.phase === "tagged")
        .map((r) => ({
          key: r.id,
          sizeBytes: r.sizeBytes,
          lastUseMs: Date.parse(r.lastUse),
          usesMs: views.get(r.id)?.usesMs ?? [],
          superseded: views.get(r.id)?.superseded ?? false,
        })),
      nowMs,
    );
    const rank = new Map(order.map((o) => [o.key, o.rank]));
    p = reorderBy(p, (id) => rank.get(id)!);
  }
  if (a.minAgeOnUses) {
    const young = (r: PlannedImage) => nowMs - Date.parse(r.lastUse) < cfg.minAge;
    p = {
      ...p,
      removable: p.removable.filter((r) => !young(r)).map((r, i) => ({ ...r, order: i + 1 })),
      kept: [
        ...p.kept,
        ...p.removable
          .filter(young)
          .map((r) => ({ ...r, action: "keep" as const, code: "too-young" as const, order: null })),
      ],
    };
  }
  return p;
}

/**
 * A plan with its tagged removable images re-ordered by `key` ascending (ties: larger first, then
 * by ID); dangling images stay first.
 */
export function reorderBy(plan: PrunePlan, key: (id: string, lastUse: string) => number): PrunePlan {
  const dangling = plan.removable.filter((p) => p.phase === "dangling");
  const keyed = plan.removable
    .filter((p) => p.phase === "tagged")
    .map((p) => ({ p, k: key(p.id, p.lastUse) }));
  keyed.sort((a, b) => a.k - b.k || b.p.sizeBytes - a.p.sizeBytes || (a.p.id < b.p.id ? -1 : 1));
  return {
    ...plan,
    removable: [...dangling, ...keyed.map((x) => x.p)].map((p, i) => ({ ...p, order: i + 1 })),
  };
}

/** The LRU baseline: the same plan, its tagged removable images least recently used first. */
export function lruOrder(plan: PrunePlan): PrunePlan {
  const p = reorderBy(plan, (_id, lastUse) => Date.parse(lastUse));
  return {
    ...p,
    removable: p.removable.map((r) => (r.phase === "tagged" ? { ...r, code: "lru" as const } : r)),
  };
}

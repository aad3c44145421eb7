// The event follower behind `imagekeeper watch`: it follows the engine's event stream and records
// what it says through the one ledger path (recordLedger, via `deps.record`), so "an image was
// used" means the same whether a prepull or a `docker run` did it.
//
// Per connection: reconcile (reconcile.ts) from what exists now, then stream events from the
// resume position (position.ts) on. Each event is resolved to an image ID (a container event names
// a container; a pull names a reference) and added to the pending batch (batch.ts), written at most
// once per flush interval; the position is saved (state.ts) only after the ledger write it covers
// succeeded. When the daemon goes away: one warning per outage, reconnect with backoff (1 s
// doubling to 30 s), reconcile again, resume. Events are read as fast as they arrive and never
// wait for a lookup or a write: the daemon drops events for a subscriber that does not take them
// within 100 ms (moby pubsub), so the socket is drained into an in-process queue.
import type { Logger } from "pino";
import type { ContainerInspect, ContainerListed, ImageInspect, ImageSummary } from "../docker/engine.js";
import type { LedgerChange } from "../model/use.js";
import { formatDuration } from "../util/duration.js";
import { Batch } from "./batch.js";
import {
  changeOf,
  EVENT_FILTERS,
  isEmptyChange,
  isImageId,
  type Observation,
  observe,
  parseEventLine,
} from "./events.js";
import { advance, alreadyApplied, type Position, positionMs, resumeSince } from "./position.js";
import { type ContainerSeen, dockerTime, reconcileChange } from "./reconcile.js";
import { readWatchState, type WatchState, writeWatchState } from "./state.js";

/** The daemon calls the follower makes (src/docker/engine.ts Engine). */
export interface WatchEngine {
  describe(): string;
  events(
    q: { since?: string; filters?: Record<string, string[]> },
    onLine: (line: string) => void,
    opts?: { signal?: AbortSignal },
  ): Promise<void>;
  inspectContainer(id: string): Promise<ContainerInspect | undefined>;
  inspectImage(ref: string): Promise<ImageInspect | undefined>;
  listContainersLabelled(): Promise<ContainerListed[]>;
  listImages(): Promise<ImageSummary[]>;
}

export interface WatchCounters {
  /** Events applied, by action (create, start, pull, tag, load, import, delete). */
  events: Record<string, number>;
  /** Times the daemon was lost. */
  outages: number;
  lastEventMs: number | null;
  connected: boolean;
}

export interface FollowerOptions {
  engine: WatchEngine;
  stateDir: string;
  /** Write a change to the ledger (recordLedger). */
  record(change: LedgerChange): Promise<void>;
  log: Logger;
  /** Longest a pending event waits before the ledger is written. */
  flushMs: number;
  /** Write at once when this many observations are pending. */
  maxBatch?: number;
  /** Called every `metricsMs` (and once connected), for the metrics textfile. */
  onMetrics?: (c: WatchCounters) => Promise<void>;
  metricsMs?: number;
  now?: () => number;
}

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
/** Containers remembered with their image ID (a create is followed by a start). */
const CONTAINER_CACHE = 2000;
const INSPECT_CONCURRENCY = 8;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

export class Follower {
  private readonly batch: Batch;
  private readonly now: () => number;
  /** Position after the last processed event (pending or written). */
  private pos: Position | undefined;
  /** Position covered by the ledger as written. */
  private savedPos: Position | undefined;
  private queue: Promise<void> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;
  private outageSince: number | undefined;
  private writeFailing = false;
  /** Set when an event could not be resolved (daemon gone mid-lookup): the rest of this connection is dropped, and replayed after the reconnect. */
  private stalled = false;
  private connection: AbortController | undefined;
  private readonly images = new Map<string, string>();
  private reconciledAt: number | null = null;
  private readonly counters: WatchCounters = { events: {}, outages: 0, lastEventMs: null, connected: false };

  constructor(private readonly o: FollowerOptions) {
    this.now = o.now ?? Date.now;
    this.batch = new Batch({ flushMs: o.flushMs, maxObservations: o.maxBatch ?? 500 });
  }

  /** What this follower has done so far (events by action, outages, the last event's time). */
  summary(): WatchCounters & { lastSavedAt: string | null } {
    return {
      ...this.counters,
      events: { ...this.counters.events },
      lastSavedAt: this.savedPos ? new Date(positionMs(this.savedPos)).toISOString() : null,
    };
  }

  /** Follow until `signal` aborts; then write what is pending and return. */
  async run(signal: AbortSignal): Promise<void> {
    const saved = readWatchState(this.o.stateDir);
    if (saved.problem)
      this.o.log.warn({ problem: saved.problem }, "watch.json could not be used; starting from now");
    this.pos = saved.state?.position ?? undefined;
    this.savedPos = this.pos;
    this.counters.lastEventMs = this.pos ? positionMs(this.pos) : null;
    let metrics: NodeJS.Timeout | undefined;
    if (this.o.onMetrics && this.o.metricsMs) {
      metrics = setInterval(() => void this.metrics(), this.o.metricsMs);
    }
    let backoff = BACKOFF_FIRST_MS;
    // Without a saved position, from this start on: until the first event is applied, every
    // reconnect replays from here too (not from the reconnect), so nothing after the start is lost.
    const startMs = this.now();
    try {
      while (!signal.aborted) {
        const since = resumeSince(this.pos, startMs);
        const conn = new AbortController();
        this.connection = conn;
        const onAbort = () => conn.abort();
        signal.addEventListener("abort", onAbort, { once: true });
        let reason: string;
        try {
          await this.reconcile();
          this.connected(since);
          void this.metrics();
          const connectedAt = this.now();
          await this.o.engine.events(
            { since, filters: EVENT_FILTERS },
            (line) => this.enqueue(() => this.handle(line)),
            { signal: conn.signal },
          );
          // Back to a short retry only after a connection that held for a while: a daemon that
          // accepts and drops at once is retried at the growing interval, not every second.
          if (this.now() - connectedAt >= BACKOFF_MAX_MS) backoff = BACKOFF_FIRST_MS;
          reason = this.stalled
            ? "an event's image could not be looked up"
            : "the daemon closed the event stream";
        } catch (e) {
          reason = (e as Error).message;
        } finally {
          signal.removeEventListener("abort", onAbort);
        }
        await this.drain();
        if (signal.aborted) break;
        this.lost(reason, backoff);
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    } finally {
      if (metrics) clearInterval(metrics);
      await this.drain();
      this.counters.connected = false;
      this.save();
      await this.metrics();
    }
  }

  /** Wait for queued events, then write everything pending (through the queue, like every write). */
  private async drain(): Promise<void> {
    this.enqueue(() => this.flush());
    await this.queue;
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((e: unknown) => {
      this.o.log.error({ err: (e as Error).message }, "watch: an event could not be processed");
    });
  }

  private async handle(line: string): Promise<void> {
    if (this.stalled) return;
    const parsed = parseEventLine(line);
    if (!parsed.ok) {
      this.o.log.warn(
        { line: line.slice(0, 300) },
        `watch: ignoring a line of the event stream: ${parsed.error}`,
      );
      return;
    }
    const ev = parsed.event;
    if (alreadyApplied(this.pos, ev)) return;
    const obs = observe(ev);
    let change: LedgerChange = {};
    if (obs) {
      let id: string | undefined;
      try {
        id = await this.resolve(obs);
      } catch (e) {
        // The daemon went away mid-lookup: stop here, without advancing; the reconnect replays
        // this event (since is inclusive) and everything after it.
        this.stalled = true;
        this.o.log.debug(
          { err: (e as Error).message, event: ev.action },
          "watch: lookup failed; reconnecting",
        );
        this.connection?.abort();
        return;
      }
      change = changeOf(obs, id);
      if (!id && obs.kind !== "gone")
        this.o.log.debug(
          { event: `${ev.type} ${ev.action}`, actor: ev.actor },
          "watch: image already gone; nothing recorded",
        );
    }
    this.o.log.debug(
      { event: `${ev.type} ${ev.action}`, actor: ev.actor, timeNano: ev.timeNano.toString() },
      "watch: event",
    );
    this.pos = advance(this.pos, ev);
    this.counters.events[ev.action] = (this.counters.events[ev.action] ?? 0) + 1;
    this.counters.lastEventMs = ev.at;
    this.batch.add(change, this.pos, this.now());
    if (this.schedule()) await this.flush();
  }

  /** The image ID an observation is about; undefined when it is gone. Throws when the daemon is. */
  private async resolve(o: Observation): Promise<string | undefined> {
    const e = this.o.engine;
    switch (o.kind) {
      case "gone":
        this.forgetImage(o.id);
        return o.id;
      case "arrival":
        return isImageId(o.subject) ? o.subject : (await e.inspectImage(o.subject))?.Id;
      case "use": {
        const cached = this.images.get(o.container);
        if (cached) return cached;
        const c = await e.inspectContainer(o.container);
        if (c) {
          this.images.set(o.container, c.Image);
          if (this.images.size > CONTAINER_CACHE) this.images.delete(this.images.keys().next().value!);
          return c.Image;
        }
        // Gone before we looked (a short `docker run --rm`): by the name it was created with.
        if (!o.image) return undefined;
        return isImageId(o.image) ? o.image : (await e.inspectImage(o.image))?.Id;
      }
    }
  }

  private forgetImage(id: string): void {
    for (const [c, img] of this.images) if (img === id) this.images.delete(c);
  }

  /**
   * Arrange the next write: at once when the batch is full (returns true: the caller, already in
   * the queue, awaits the write), else one timer for when the oldest pending event is due. Every
   * write goes through the queue, so writes, and the positions they save, stay in order.
   */
  private schedule(): boolean {
    const due = this.batch.dueIn(this.now());
    if (due === undefined) return false;
    // While writes fail, retry on the timer only (not on every event).
    if (due === 0 && !this.writeFailing) return true;
    this.flushTimer ??= setTimeout(
      () => {
        this.flushTimer = undefined;
        this.enqueue(() => this.flush());
      },
      due === 0 ? this.o.flushMs : due,
    );
    return false;
  }

  /** Write the pending batch, then save the position it covers. */
  private async flush(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const t = this.batch.take();
    if (!t) return;
    if (!isEmptyChange(t.change)) {
      try {
        await this.o.record(t.change);
        if (this.writeFailing) this.o.log.info("watch: the ledger is writable again");
        this.writeFailing = false;
      } catch (e) {
        if (!this.writeFailing)
          this.o.log.warn(
            { err: (e as Error).message, stateDir: this.o.stateDir },
            "watch: could not write the ledger; keeping the events and retrying",
          );
        this.writeFailing = true;
        this.batch.putBack(t, this.now());
        this.schedule();
        return;
      }
    }
    if (t.position) this.savedPos = t.position;
    this.save();
  }

  private async reconcile(): Promise<void> {
    const e = this.o.engine;
    const [listed, images] = await Promise.all([e.listContainersLabelled(), e.listImages()]);
    const nowMs = this.now();
    const seen: ContainerSeen[] = [];
    const inactive = listed.filter((c) => !["running", "paused", "restarting"].includes(c.State ?? ""));
    const details = new Map<string, ContainerInspect | undefined>();
    for (let i = 0; i < inactive.length; i += INSPECT_CONCURRENCY) {
      const chunk = inactive.slice(i, i + INSPECT_CONCURRENCY);
      const got = await Promise.all(chunk.map((c) => e.inspectContainer(c.Id)));
      chunk.forEach((c, j) => details.set(c.Id, got[j]));
    }
    for (const c of listed) {
      const d = details.get(c.Id);
      seen.push({
        id: c.Id,
        imageId: c.ImageID,
        image: c.Image,
        state: c.State ?? "unknown",
        labels: c.Labels ?? {},
        createdMs: c.Created !== undefined ? c.Created * 1000 : null,
        startedMs: dockerTime(d?.State?.StartedAt),
        finishedMs: dockerTime(d?.State?.FinishedAt),
      });
      this.images.set(c.Id, c.ImageID);
    }
    const change = reconcileChange(
      seen,
      images.map((i) => i.Id),
      nowMs,
    );
    // Pending events first: a sighting must not be merged with events that happened after it.
    await this.drain();
    try {
      await this.o.record(change);
    } catch (err) {
      this.o.log.warn(
        { err: (err as Error).message, stateDir: this.o.stateDir },
        "watch: could not record the reconciliation in the ledger",
      );
      return;
    }
    this.reconciledAt = nowMs;
    this.o.log.debug(
      { containers: listed.length, images: images.length, uses: change.uses?.length ?? 0 },
      "watch: reconciled from the containers and images present",
    );
  }

  private connected(since: string): void {
    this.stalled = false;
    this.counters.connected = true;
    const where = this.o.engine.describe();
    if (this.outageSince !== undefined) {
      this.o.log.info(
        { since, outageMs: this.now() - this.outageSince },
        `watch: reconnected to the Docker daemon at ${where} after ${formatDuration(this.now() - this.outageSince)}; reconciled, resuming the events from ${since}`,
      );
      this.outageSince = undefined;
    } else {
      this.o.log.info({ since }, `watch: following the Docker daemon's events at ${where} from ${since}`);
    }
    this.save();
  }

  private lost(reason: string, backoffMs: number): void {
    this.counters.connected = false;
    if (this.outageSince === undefined) {
      this.outageSince = this.now();
      this.counters.outages++;
      this.o.log.warn(
        { err: reason },
        `watch: lost the Docker daemon at ${this.o.engine.describe()} (${reason}); reconnecting with backoff up to ${BACKOFF_MAX_MS / 1000}s, then replaying the events missed`,
      );
      this.save();
    } else {
      this.o.log.debug({ err: reason, retryInMs: backoffMs }, "watch: still no daemon");
    }
  }

  private save(): void {
    const s: WatchState = {
      version: 1,
      position: this.savedPos ?? null,
      lastEventAt: this.savedPos ? new Date(positionMs(this.savedPos)).toISOString() : null,
      reconciledAt: this.reconciledAt === null ? null : new Date(this.reconciledAt).toISOString(),
      connected: this.counters.connected,
      pid: process.pid,
      updatedAt: new Date(this.now()).toISOString(),
    };
    try {
      writeWatchState(this.o.stateDir, s);
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, "watch: could not save watch.json");
    }
  }

  private metricsBusy = false;
  private async metrics(): Promise<void> {
    if (!this.o.onMetrics || this.metricsBusy) return;
    this.metricsBusy = true;
    try {
      await this.o.onMetrics({ ...this.counters, events: { ...this.counters.events } });
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, "watch: could not update the metrics");
    } finally {
      this.metricsBusy = false;
    }
  }
}

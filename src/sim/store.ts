// The simulator's modelled host: an image store on a disk of fixed capacity, and the fake
// ExecuteDeps through which the real executor (src/prune/execute.ts) removes images from it. Used
// bytes are the sum of the present images' sizes (no shared layers, no containers' writable layers,
// no volumes: docs/simulate.md says what that leaves out), re-measured after every removal as the
// real executor re-measures the filesystem.
import { pino } from "pino";
import type { Docker } from "../docker/cli.js";
import type { RunResult } from "../exec.js";
import type { ExecuteDeps } from "../prune/execute.js";
import type { DiskUsage } from "../prune/measure.js";
import { referenceKey } from "../prune/names.js";
import type { ImageFact, PlannedImage } from "../prune/plan.js";

export interface StoredImage {
  id: string;
  sizeBytes: number;
  /** `repo:tag` names (RepoTags). */
  tags: Set<string>;
  /** `repo@digest` names (RepoDigests). */
  digests: Set<string>;
  createdMs: number;
}

export class ModelStore {
  readonly images = new Map<string, StoredImage>();
  /** Name (`repo:tag` or `repo@digest`) → image ID. */
  private readonly names = new Map<string, string>();
  usedBytes = 0;
  constructor(readonly capacityBytes: number) {}

  has(id: string): boolean {
    return this.images.has(id);
  }

  /** Pull (or re-tag) `ref` as image `id`: the name moves to it; a new image takes its bytes. */
  pull(ref: string, id: string, sizeBytes: number, createdMs: number): void {
    let img = this.images.get(id);
    if (!img) {
      img = { id, sizeBytes, tags: new Set(), digests: new Set(), createdMs };
      this.images.set(id, img);
      this.usedBytes += sizeBytes;
    }
    const key = referenceKey(ref);
    const prev = this.names.get(key);
    if (prev !== undefined && prev !== id) this.dropName(prev, key);
    this.names.set(key, id);
    (key.includes("@") ? img.digests : img.tags).add(key);
  }

  private dropName(id: string, key: string): void {
    const img = this.images.get(id);
    if (!img) return;
    img.tags.delete(key);
    img.digests.delete(key);
  }

  remove(id: string): boolean {
    const img = this.images.get(id);
    if (!img) return false;
    for (const n of [...img.tags, ...img.digests]) this.names.delete(n);
    this.images.delete(id);
    this.usedBytes -= img.sizeBytes;
    return true;
  }

  disk(): DiskUsage {
    const freeBytes = Math.max(0, this.capacityBytes - this.usedBytes);
    const capacity = this.usedBytes + freeBytes;
    return {
      path: "/var/lib/docker",
      totalBytes: this.capacityBytes,
      usedBytes: this.usedBytes,
      freeBytes,
      usedPercent: capacity > 0 ? (this.usedBytes / capacity) * 100 : 0,
    };
  }

  /** The planner's image facts. LastTagTime is the zero time, as dockerd 20.10 reports it after a pull. */
  facts(): ImageFact[] {
    return [...this.images.values()].map((i) => ({
      id: i.id,
      repoTags: [...i.tags],
      repoDigests: [...i.digests],
      sizeBytes: i.sizeBytes,
      createdMs: i.createdMs,
      lastTagTimeMs: null,
    }));
  }

  /**
   * `docker image rm ARGS…` without --force: an ID removes the image (refused while a container
   * uses it); a name removes that name, and the image with its last name.
   */
  imageRm(args: readonly string[], inUse: (id: string) => boolean): string[] {
    const refused: string[] = [];
    for (const a of args) {
      const byId = this.images.get(a);
      const id = byId ? a : this.names.get(referenceKey(a));
      if (id === undefined) continue;
      if (inUse(id)) {
        refused.push(`Error response from daemon: conflict: unable to remove ${a}: image is being used`);
        continue;
      }
      if (byId) this.remove(id);
      else {
        const key = referenceKey(a);
        this.names.delete(key);
        this.dropName(id, key);
        const img = this.images.get(id)!;
        if (img.tags.size === 0 && img.digests.size === 0) this.remove(id);
      }
    }
    return refused;
  }

  /** `docker image prune --filter until=…` (no --all): untagged images not in use, built before `beforeMs`. */
  danglingPrune(beforeMs: number, inUse: (id: string) => boolean): void {
    for (const img of [...this.images.values()])
      if (img.tags.size === 0 && img.createdMs <= beforeMs && !inUse(img.id)) this.remove(img.id);
  }

  /** `docker system prune -af --filter until=…`: every image not in use, built before `beforeMs`. */
  systemPruneAll(beforeMs: number, inUse: (id: string) => boolean): number {
    let n = 0;
    for (const img of [...this.images.values()])
      if (img.createdMs <= beforeMs && !inUse(img.id)) {
        this.remove(img.id);
        n++;
      }
    return n;
  }
}

const SILENT = pino({ level: "silent" });

function result(argv: readonly string[], stderr = "", exitCode = 0): RunResult {
  return {
    argv,
    exitCode,
    signal: undefined,
    stdout: "",
    stderr,
    durationMs: 0,
    timedOut: false,
    aborted: false,
  };
}

/** Go duration "123s" → ms (what dockerArgs.danglingPrune writes). */
function untilMs(args: readonly string[]): number {
  const f = args.find((a) => a.startsWith("until="));
  const m = f ? /^until=(\d+)s$/.exec(f) : null;
  return m ? Number(m[1]) * 1000 : 0;
}

/**
 * The executor's dependencies against the modelled store at time `nowMs`: removal commands change
 * the store, `measure` reads it, and `inUse` says which images a live container holds.
 */
export function modelDeps(store: ModelStore, nowMs: number, inUse: (id: string) => boolean): ExecuteDeps {
  const docker: Docker = {
    binary: "docker",
    async run(args) {
      if (args[0] === "image" && args[1] === "rm") {
        const refused = store.imageRm(args.slice(2), inUse);
        return result(["docker", ...args], refused.join("\n"), refused.length ? 1 : 0);
      }
      if (args[0] === "image" && args[1] === "prune") {
        store.danglingPrune(nowMs - untilMs(args), inUse);
        return result(["docker", ...args]);
      }
      // builder prune: the model has no build cache.
      return result(["docker", ...args]);
    },
  };
  return {
    docker,
    measure: async () => store.disk(),
    exists: async (id) => store.has(id),
    protectionNow: async () => (img: PlannedImage) =>
      inUse(img.id) ? "used by a live run's container" : null,
    log: SILENT,
  };
}

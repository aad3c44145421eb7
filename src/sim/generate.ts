// A synthetic CI host's trace, for tests and benchmarks of the prune policy (issue 8). What a
// Co-op Cloud CI host does, in the proportions that matter for an image cache:
//   - a nightly all-recipes sweep at 02:00, one run every 2 minutes in a fixed order, runs of
//     about 10 minutes; recipes of the upgrade tier deploy their previous version and upgrade to
//     the current one, so they need both;
//   - pull-request runs by day on weekdays, recipes by popularity (Zipf); a PR is pushed a few
//     times over a day or two; about half bump the recipe's version (new images), which becomes
//     the nightly's version when the PR is merged;
//   - shared service images (postgres, mariadb, redis, nginx, …) pinned by patch version, each
//     recipe moving to a newer patch when it bumps;
//   - image sizes 10 MB–1 GB, log-normally skewed toward the small end; build dates before the
//     version's release (what `docker system prune --filter until=` compares).
// Deterministic per seed (a small PRNG, no Math.random), so tests can assert exact shapes and
// benchmarks are reproducible.
import type { TraceImage, TraceRun } from "./trace.js";

export interface GenerateOptions {
  seed: number;
  days?: number;
  recipes?: number;
  /** Epoch ms of the first day's 00:00 UTC (default: Monday 2026-01-05). */
  start?: number;
  /** Fraction of recipes in the upgrade tier. */
  upgradeTier?: number;
  /** Pull requests opened per weekday, on average. */
  prsPerWeekday?: number;
  /** Multiplies every image size (trace "sizes"). */
  sizeScale?: number;
}

export const DEFAULTS = {
  days: 90,
  recipes: 60,
  start: Date.UTC(2026, 0, 5),
  upgradeTier: 0.4,
  prsPerWeekday: 16,
  sizeScale: 1,
};

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const MB = 1000 * 1000;
export const SWEEP_AT_MS = 2 * HOUR;
export const SWEEP_EVERY_MS = 2 * MIN;

/** mulberry32: a tiny, well-distributed 32-bit PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stable fake image ID for a name (FNV-1a, spread over 64 hex digits). */
export function fakeId(name: string): string {
  let out = "";
  for (let k = 0; k < 8; k++) {
    let h = 0x811c9dc5 ^ k;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    out += (h >>> 0).toString(16).padStart(8, "0");
  }
  return `sha256:${out}`;
}

interface Rng {
  u(): number;
  between(a: number, b: number): number;
  int(a: number, b: number): number;
  normal(): number;
  poisson(mean: number): number;
  pick<T>(xs: readonly T[]): T;
}

function rng(seed: number): Rng {
  const next = prng(seed);
  const r: Rng = {
    u: next,
    between: (a, b) => a + (b - a) * next(),
    int: (a, b) => Math.floor(a + (b - a + 1) * next()),
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
    poisson: (mean) => {
      let k = 0;
      let p = Math.exp(-mean);
      let s = p;
      const u = next();
      while (u > s && k < 1000) {
        k++;
        p *= mean / k;
        s += p;
      }
      return k;
    },
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
  };
  return r;
}

/** Log-normal size around `medianMB`, clamped to 10 MB–1 GB. */
function size(r: Rng, medianMB: number, sigma: number, scale: number): number {
  const mb = Math.min(1000, Math.max(10, medianMB * Math.exp(sigma * r.normal())));
  return Math.round(mb * MB * scale);
}

interface Service {
  repo: string;
  major: string;
  sizeBytes: number;
  /** Patch releases: time it appears. */
  patches: number[];
}

const SERVICE_KINDS: { repo: string; majors: string[]; mb: number; share: number }[] = [
  { repo: "postgres", majors: ["13", "14", "15", "16"], mb: 420, share: 0.35 },
  { repo: "mariadb", majors: ["10.6", "10.11", "11.4"], mb: 400, share: 0.2 },
  { repo: "redis", majors: ["6.2", "7.2"], mb: 130, share: 0.3 },
  { repo: "nginx", majors: ["1.25", "1.27"], mb: 190, share: 0.15 },
  { repo: "memcached", majors: ["1.6"], mb: 85, share: 0.08 },
  { repo: "mongo", majors: ["6.0", "7.0"], mb: 750, share: 0.05 },
  { repo: "rabbitmq", majors: ["3.12", "3.13"], mb: 250, share: 0.04 },
];

interface Component {
  name: string;
  medianMB: number;
}

interface Version {
  n: number;
  /** Per own component: the version number whose image it uses (components change independently). */
  comp: number[];
  /** Per service slot: patch index. */
  patch: number[];
  releasedAt: number;
}

interface Recipe {
  name: string;
  weight: number;
  components: Component[];
  services: Service[];
  durationMin: number;
  upgrade: boolean;
  versions: Version[];
  /** Merged versions, oldest first: the last is the nightly's, the one before the upgrade tier's "from". */
  merged: Version[];
  prCount: number;
  /** The last version number handed out. */
  lastN: number;
}

const NAMES = [
  "authentik",
  "bookstack",
  "calibre",
  "cryptpad",
  "discourse",
  "drone",
  "element",
  "etherpad",
  "filerun",
  "forgejo",
  "ghost",
  "gitea",
  "grafana",
  "hedgedoc",
  "homeassistant",
  "immich",
  "invidious",
  "jellyfin",
  "jitsi",
  "kanboard",
  "keycloak",
  "lasuite",
  "lemmy",
  "listmonk",
  "mailu",
  "mastodon",
  "matomo",
  "mattermost",
  "mediawiki",
  "minio",
  "miniflux",
  "mobilizon",
  "monica",
  "n8n",
  "navidrome",
  "nextcloud",
  "nocodb",
  "ntfy",
  "onlyoffice",
  "outline",
  "owncast",
  "paperless",
  "peertube",
  "penpot",
  "photoprism",
  "pixelfed",
  "plausible",
  "pretix",
  "privatebin",
  "rallly",
  "rocketchat",
  "searxng",
  "snipeit",
  "traefik",
  "umami",
  "uptimekuma",
  "vaultwarden",
  "wallabag",
  "wikijs",
  "wordpress",
  "writefreely",
  "zammad",
];

function shuffle<T>(r: Rng, xs: readonly T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r.u() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function recipeName(i: number): string {
  const base = NAMES[i % NAMES.length]!;
  return i < NAMES.length ? base : `${base}${Math.floor(i / NAMES.length) + 1}`;
}

export function generateTrace(o: GenerateOptions): TraceRun[] {
  const days = o.days ?? DEFAULTS.days;
  const nRecipes = o.recipes ?? DEFAULTS.recipes;
  const start = o.start ?? DEFAULTS.start;
  const tierFraction = o.upgradeTier ?? DEFAULTS.upgradeTier;
  const prRate = o.prsPerWeekday ?? DEFAULTS.prsPerWeekday;
  const scale = o.sizeScale ?? DEFAULTS.sizeScale;
  const r = rng(o.seed);
  const end = start + days * DAY;

  // Shared services: each major has patch releases every 30–70 days, from well before the start.
  const services: Service[] = [];
  for (const k of SERVICE_KINDS)
    for (const major of k.majors) {
      const patches: number[] = [];
      for (let t = start - r.between(60, 200) * DAY; t < end; t += r.between(30, 70) * DAY) patches.push(t);
      services.push({ repo: k.repo, major, sizeBytes: size(r, k.mb, 0.15, scale), patches });
    }
  const latestPatch = (s: Service, t: number) => {
    let i = 0;
    while (i + 1 < s.patches.length && s.patches[i + 1]! <= t) i++;
    return i;
  };

  const recipes: Recipe[] = [];
  for (let i = 0; i < nRecipes; i++) {
    const name = recipeName(i);
    const components: Component[] = [{ name: "app", medianMB: 320 }];
    if (r.u() < 0.35) components.push({ name: "worker", medianMB: 120 });
    if (r.u() < 0.12) components.push({ name: "web", medianMB: 60 });
    const svc: Service[] = [];
    for (const k of SERVICE_KINDS)
      if (r.u() < k.share) svc.push(r.pick(services.filter((s) => s.repo === k.repo)));
    const comp0 = components.map(() => 0);
    const mk = (n: number, at: number, comp: number[]): Version => ({
      n,
      comp,
      patch: svc.map((s) => latestPatch(s, at)),
      releasedAt: at,
    });
    recipes.push({
      name,
      weight: 1 / (i + 1) ** 1.0,
      components: components.map((c) => ({ ...c, medianMB: c.medianMB })),
      services: svc,
      durationMin: r.between(6, 13),
      upgrade: false,
      // Two versions before the trace starts: the upgrade tier needs the previous one.
      versions: [],
      merged: [
        mk(0, start - r.between(60, 120) * DAY, comp0),
        mk(
          1,
          start - r.between(5, 50) * DAY,
          components.map(() => 1),
        ),
      ],
      prCount: 0,
      lastN: 1,
    });
  }
  for (const x of recipes) x.versions.push(...x.merged);
  // Popularity is by a random permutation, so it does not follow the sweep's alphabetical order.
  const weights = shuffle(
    r,
    recipes.map((x) => x.weight),
  );
  recipes.forEach((x, i) => (x.weight = weights[i]!));
  const tier = shuffle(r, recipes).slice(0, Math.round(nRecipes * tierFraction));
  for (const x of tier) x.upgrade = true;

  // Sizes per component and version: a stable base per component, a little drift per version.
  const compSize = new Map<string, number>();
  const baseSize = new Map<string, number>();
  const imageOf = (rec: Recipe, c: number, v: number): TraceImage => {
    const comp = rec.components[c]!;
    const key = `${rec.name}/${comp.name}`;
    if (!baseSize.has(key)) baseSize.set(key, size(r, comp.medianMB, 0.9, scale));
    const vk = `${key}:${v}`;
    if (!compSize.has(vk)) compSize.set(vk, Math.round(baseSize.get(key)! * (1 + 0.03 * r.normal())));
    const ver = rec.versions.find((x) => x.n === v) ?? rec.versions[0]!;
    const ref = `${rec.name}/${comp.name}:1.${v}.0`;
    return {
      ref,
      id: fakeId(`${o.seed}/${ref}`),
      sizeBytes: compSize.get(vk)!,
      created: Math.round(ver.releasedAt - 3 * DAY),
    };
  };
  const serviceImage = (s: Service, patch: number): TraceImage => {
    const ref = `${s.repo}:${s.major}.${patch}`;
    return {
      ref,
      id: fakeId(`${o.seed}/${ref}`),
      sizeBytes: s.sizeBytes,
      created: Math.round(s.patches[patch]! - 2 * DAY),
    };
  };
  const imagesOf = (rec: Recipe, v: Version, role?: string): TraceImage[] => {
    const imgs = [
      ...rec.components.map((_, c) => imageOf(rec, c, v.comp[c]!)),
      ...rec.services.map((s, k) => serviceImage(s, v.patch[k]!)),
    ];
    return role ? imgs.map((i) => ({ ...i, role })) : imgs;
  };

  // Events that change versions happen in time order; collect them with the runs and sort.
  type Ev = { t: number; seq: number; apply: () => TraceRun | null };
  const evs: Ev[] = [];
  let seq = 0;
  const at = (t: number, apply: () => TraceRun | null) => evs.push({ t, seq: seq++, apply });

  const sorted = [...recipes].sort((a, b) => a.name.localeCompare(b.name));
  for (let d = 0; d < days; d++) {
    const day = start + d * DAY;
    // The nightly sweep.
    sorted.forEach((rec, i) => {
      const t = day + SWEEP_AT_MS + i * SWEEP_EVERY_MS;
      const dur = Math.round(rec.durationMin * r.between(0.9, 1.1) * 60);
      at(t, () => {
        const cur = rec.merged[rec.merged.length - 1]!;
        const prev = rec.merged[rec.merged.length - 2]!;
        const images = rec.upgrade
          ? [...imagesOf(rec, prev, "deploy"), ...imagesOf(rec, cur, "upgrade")]
          : imagesOf(rec, cur);
        return {
          t,
          run: `n${d + 1}-${rec.name}`,
          app: `${rec.name}.ci.example`,
          recipe: rec.name,
          kind: rec.upgrade ? "upgrade" : "nightly",
          durationS: dur,
          images,
        };
      });
    });
    // Pull requests on weekdays (start is a Monday), opened 08:00–18:00.
    const weekday = d % 7 < 5;
    if (!weekday) continue;
    const total = recipes.reduce((n, x) => n + x.weight, 0);
    const n = r.poisson(prRate);
    for (let p = 0; p < n; p++) {
      let w = r.u() * total;
      const rec = recipes.find((x) => (w -= x.weight) < 0) ?? recipes[0]!;
      const opened = day + r.between(8, 18) * HOUR;
      const bump = r.u() < 0.45;
      const pushes = 1 + Math.min(4, Math.floor(-Math.log(1 - r.u()) * 1.3));
      const times = [opened];
      for (let k = 1; k < pushes; k++) times.push(times[k - 1]! + r.between(0.5, 28) * HOUR);
      const merged = r.u() < 0.8 ? times[times.length - 1]! + r.between(1, 48) * HOUR : null;
      const prId = ++rec.prCount;
      let version: Version | null = null;
      times.forEach((t, k) => {
        const dur = Math.round(rec.durationMin * r.between(0.9, 1.1) * 60);
        at(t, () => {
          if (k === 0) {
            const base = rec.merged[rec.merged.length - 1]!;
            const n = bump ? ++rec.lastN : base.n;
            version = bump
              ? {
                  n,
                  comp: base.comp.map((c, ci) => (ci === 0 || r.u() < 0.6 ? n : c)),
                  patch: rec.services.map((s, si) => (r.u() < 0.5 ? latestPatch(s, t) : base.patch[si]!)),
                  releasedAt: t,
                }
              : rec.merged[rec.merged.length - 1]!;
            if (bump) rec.versions.push(version);
          }
          return {
            t,
            run: `pr-${rec.name}-${prId}-${k + 1}`,
            app: `pr${prId}.${rec.name}.ci.example`,
            recipe: rec.name,
            kind: "pr",
            durationS: dur,
            images: imagesOf(rec, version!),
          };
        });
      });
      if (merged !== null && bump && merged < end)
        at(merged, () => {
          if (version!.n > rec.merged[rec.merged.length - 1]!.n) rec.merged.push(version!);
          return null;
        });
    }
  }
  evs.sort((a, b) => a.t - b.t || a.seq - b.seq);
  const runs: TraceRun[] = [];
  for (const e of evs) {
    const run = e.apply();
    if (run && run.t < end) runs.push({ ...run, t: Math.round(run.t) });
  }
  return runs;
}

/** Distinct image bytes of the runs in [from, to): a working set. */
export function workingSetBytes(runs: readonly TraceRun[], from: number, to: number): number {
  const seen = new Map<string, number>();
  for (const run of runs)
    if (run.t >= from && run.t < to) for (const i of run.images) seen.set(i.id, i.sizeBytes);
  let n = 0;
  for (const s of seen.values()) n += s;
  return n;
}

// The prune policy on generated CI traces (issue 8): for each seed and disk size, the shipped
// defaults, the baselines (LRU with the same rules, Belady's order with the same rules, NixOS
// autoPrune) and the offline reference (Belady on demand at the full disk). Prints a Markdown
// table for docs/performance.md; CPU seconds per replay on stderr.
//   npm run bench:sim -- [--seeds 1,2,3] [--capacities 25,40,60] [--days 90] [--baselines lru,oracle,autoprune]
//                        [--config '{"prune":{…}}'] [--ablations]
import { parseArgs } from "node:util";
import { configSchema } from "../src/config/schema.js";
import { generateTrace } from "../src/sim/generate.js";
import { ratioOf } from "../src/sim/compare.js";
import { beladyReference } from "../src/sim/reference.js";
import { type SimOptions, type SimPolicy, type SimResult, simulate } from "../src/sim/simulate.js";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "1,2,3" },
    capacities: { type: "string", default: "25,40,60" },
    days: { type: "string", default: "90" },
    baselines: { type: "string", default: "lru,oracle,autoprune" },
    config: { type: "string", default: "{}" },
    ablations: { type: "boolean", default: false },
  },
});
const GiB = 1024 ** 3;
const seeds = values.seeds.split(",").map(Number);
const capacities = values.capacities.split(",").map(Number);
const days = Number(values.days);
const baselines = values.baselines.split(",").filter(Boolean) as SimPolicy[];
const config = configSchema.parse(JSON.parse(values.config));
const g = (b: number) => (b / GiB).toFixed(0);
const r2 = (x: number | null) => (x === null ? "n/a" : x.toFixed(2));

async function timed(runs: Parameters<typeof simulate>[0], o: SimOptions, label: string): Promise<SimResult> {
  const c0 = process.cpuUsage();
  const r = await simulate(runs, o);
  const c = process.cpuUsage(c0);
  process.stderr.write(`${label}: ${((c.user + c.system) / 1e6).toFixed(1)} s CPU\n`);
  return r;
}

const delay = (r: SimResult) =>
  `${r.delay.delayedRuns} / ${Math.round(r.delay.totalS / 3600)} h / ${Math.round(r.delay.maxS / 60)} min`;

if (!values.ablations) {
  console.log(
    `| seed | disk | over-capacity runs | re-pulled GiB | reference GiB | ratio | ${baselines.map((b) => `${b} GiB (ratio, over)`).join(" | ")} | delayed runs / total / max | drains (gave up) | lease timeouts | peak GiB |`,
  );
  console.log(`|${" --- |".repeat(9 + baselines.length)}`);
  for (const seed of seeds) {
    const runs = generateTrace({ seed, days });
    for (const cap of capacities) {
      const o = { capacityBytes: cap * GiB, config };
      const r = await timed(runs, o, `seed ${seed} ${cap} GiB imagekeeper`);
      const ref = beladyReference(runs, cap * GiB);
      const cols: string[] = [];
      for (const b of baselines) {
        const x = await timed(runs, { ...o, policy: b }, `seed ${seed} ${cap} GiB ${b}`);
        cols.push(
          `${g(x.repulledBytes)} (${r2(ratioOf(x.repulledBytes, ref.repulledBytes))}, ${x.overCapacityRuns})`,
        );
      }
      console.log(
        `| ${seed} | ${cap} GiB | ${r.overCapacityRuns} | ${g(r.repulledBytes)} | ${g(ref.repulledBytes)} | ${r2(ratioOf(r.repulledBytes, ref.repulledBytes))} | ${cols.join(" | ")} | ${delay(r)} | ${r.gapDrains} (${r.gapGiveUps}) | ${r.leaseTimeouts} | ${(r.peakBytes / GiB).toFixed(1)} |`,
      );
    }
  }
} else {
  // One change undone at a time, against the defaults.
  const variants: { name: string; o: Partial<SimOptions>; prune?: Record<string, unknown> }[] = [
    { name: "defaults", o: {} },
    { name: "minAge on uses (old rule)", o: { ablate: { minAgeOnUses: true } } },
    { name: "next use from the image's history only", o: { ablate: { imageRhythmOnly: true } } },
    { name: "no gap prunes (timer only)", o: {}, prune: { beforeRuns: false } },
    { name: "no reservation window", o: {}, prune: { reservation: "0s" } },
    { name: "reservation 1h", o: {}, prune: { reservation: "1h" } },
    { name: "without imagekeeper watch", o: { watch: false } },
    {
      name: "old thresholds (85/70 %, no minFree/maxFree)",
      o: {},
      prune: {
        highWatermarkPercent: 85,
        lowWatermarkPercent: 70,
        criticalWatermarkPercent: 95,
        minFree: null,
        maxFree: null,
      },
    },
    { name: "percentages only (95/85 %)", o: {}, prune: { minFree: null, maxFree: null } },
  ];
  console.log(
    `| variant | ${seeds.flatMap((s) => capacities.map((c) => `seed ${s}, ${c} GiB: over / re-pulled GiB (ratio) / delayed`)).join(" | ")} |`,
  );
  console.log(`|${" --- |".repeat(1 + seeds.length * capacities.length)}`);
  const traces = new Map(seeds.map((s) => [s, generateTrace({ seed: s, days })]));
  const refs = new Map<string, number>();
  for (const s of seeds)
    for (const c of capacities) refs.set(`${s}/${c}`, beladyReference(traces.get(s)!, c * GiB).repulledBytes);
  for (const v of variants) {
    const cfg = v.prune
      ? configSchema.parse({
          ...JSON.parse(values.config),
          prune: { ...JSON.parse(values.config).prune, ...v.prune },
        })
      : config;
    const cols: string[] = [];
    for (const s of seeds)
      for (const c of capacities) {
        const r = await timed(
          traces.get(s)!,
          { capacityBytes: c * GiB, config: cfg, ...v.o },
          `${v.name} seed ${s} ${c} GiB`,
        );
        cols.push(
          `${r.overCapacityRuns} / ${g(r.repulledBytes)} (${r2(ratioOf(r.repulledBytes, refs.get(`${s}/${c}`)!))}) / ${r.delay.delayedRuns}`,
        );
      }
    console.log(`| ${v.name} | ${cols.join(" | ")} |`);
  }
}

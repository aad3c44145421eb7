// Benchmark: a cold prepull of a realistic recipe (4 images of 10-300 MB on shared base layers,
// about 485 MB and 24 blobs) against the seed loop and against the limit, over emulated links
// (bench/support/link.ts): 40 ms round trips at 20 MB/s per connection, and 100 ms at 10 MB/s. Not
// a test: it prints tables for docs/performance.md.
//   npm run bench:cold -- [--runs 3] [--links 40:20,100:10] [--mcd 3,6] [--link-mbps N]
//                         [--scale 1] [--bin dist/imagekeeper.mjs] [--hold FILE]
// --hold FILE: set the links and daemons up, write the contenders as scripts in FILE ($IK_LOOP_100_3,
// $IK_IK_100_6, $IK_PROBE_100, $IK_LOCAL_6, …; each empties its daemon's store again at its end and
// appends how long that took, ms, to $IK_CLEAN_LOG), and keep it all running until SIGTERM.
// --links RTT_MS:MB_PER_S_PER_CONNECTION,…; --mcd the daemons' max-concurrent-downloads (one private
// dockerd each); --link-mbps caps the whole link too (MB/s; default: per connection only).
// Contenders, run in turn round after round, each on an empty store (removed after each run):
//   loop@M   the seed loop (docker image inspect || docker pull, one image after another), daemon M
//   ik@M     imagekeeper prepull (default policy), --concurrency M: what the NixOS module configures
//            (prepull.concurrency follows the daemon's max-concurrent-downloads), daemon M
//   probe    the link's floor: every blob at once on its own connection, bytes dropped
//            (bench/support/blob-probe.mjs)
//   local    imagekeeper prepull on the last daemon with no link at all: this machine's floor for
//            downloading, decompressing and extracting the bytes
// The limit is the larger of probe and local: no pull over this link on this machine is faster.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildSnapshot, snapshotArgv } from "../test/support/snapshot.js";
import { type Daemon, DOCKER_CLI, pushImage, startDaemon, startRegistry } from "../test/support/testbed.js";
import { hold, script } from "./support/hold.js";
import { type Links, startLinks } from "./support/link.js";
import {
  type Contender,
  flag,
  interleave,
  median,
  pairedRatio,
  ratio,
  runContext,
  runProcess,
  seconds,
  table,
  timeProcess,
} from "./support/timing.js";

const MB = 1_000_000;
/** --scale 0.05: the same recipe with every layer that much smaller (a quick check of the harness). */
const scale = Number(flag("--scale") ?? 1);
const runs = Number(flag("--runs") ?? 3);
const linkSpecs = (flag("--links") ?? "40:20,100:10").split(",").map((s) => {
  const [rtt, mbps] = s.split(":").map(Number);
  return { rttMs: rtt!, connBps: mbps! * MB };
});
const mcds = (flag("--mcd") ?? "3,6").split(",").map(Number);
const linkMbps = flag("--link-mbps");
const bin = path.resolve(flag("--bin") ?? "dist/imagekeeper.mjs");
const node = process.execPath;
const holdFile = flag("--hold");
const PROBE = path.resolve("bench/support/blob-probe.mjs");

// The recipe: an app and its worker on one runtime over one OS base, a database on the OS base,
// and a small proxy on its own base. Layer seeds name the layers: the same seed, the same layer.
const layer = (mb: number, seed: string) => ({ sizeBytes: Math.round(mb * MB * scale), seed });
const os = layer(40, "os");
const runtime = layer(50, "runtime");
const own = (name: string, mbs: number[]) => mbs.map((m, i) => layer(m, `${name}-${i}`));
const RECIPE = [
  { repo: "bench/app", layers: [os, runtime, ...own("app", [90, 60, 35, 15, 7])], top: 3 },
  { repo: "bench/worker", layers: [os, runtime, ...own("worker", [60, 30, 25, 10])], top: 5 },
  { repo: "bench/db", layers: [os, ...own("db", [30, 12])], top: 3 },
  { repo: "bench/proxy", layers: own("proxy", [4, 5]), top: 1 },
];

interface ImageTimes {
  ref: string;
  waitMs?: number;
  pullMs?: number;
  bytes?: number;
}

const work = mkdtempSync(path.join(tmpdir(), "ikbench-cold-"));
const blob = path.join(work, "imagekeeper.blob");
buildSnapshot(bin, blob);
const started: { stop(): Promise<void> }[] = [];
try {
  const reg = await startRegistry();
  started.push(reg);
  let largest = 0;
  let total = 0;
  const seen = new Set<string>();
  for (const img of RECIPE) {
    const top = layer(img.top, img.repo);
    await pushImage(reg.host, img.repo, "1.0", { layers: img.layers, ...top });
    for (const l of [...img.layers, top]) {
      largest = Math.max(largest, l.sizeBytes);
      if (!seen.has(l.seed)) total += l.sizeBytes;
      seen.add(l.seed);
    }
  }
  const daemons = new Map<number, Daemon>();
  for (const m of mcds) {
    const d = await startDaemon({ settings: { "max-concurrent-downloads": m } });
    started.push(d);
    daemons.set(m, d);
  }
  const envOf = (d: Daemon, m: number) => ({
    ...process.env,
    ...d.env,
    IMAGEKEEPER_STATE_DIR: path.join(work, `state-${m}`),
    IMAGEKEEPER_LOG_LEVEL: "warn",
  });
  const recipe = (name: string, host: string) => {
    const dir = path.join(work, name);
    mkdirSync(dir, { recursive: true });
    const refs = RECIPE.map((i) => `${host}/${i.repo}:1.0`);
    writeFileSync(
      path.join(dir, "compose.yml"),
      `version: "3.8"\nservices:\n${refs.map((r, i) => `  s${i}:\n    image: ${r}\n`).join("")}`,
    );
    return { dir, refs };
  };
  /** Empty the store again: nothing of the recipe left, so the next run is cold. */
  const clean = async (d: Daemon, refs: string[]) => {
    for (const r of refs)
      try {
        await d.dockerAsync(["rmi", "-f", r]);
      } catch {
        // not present
      }
    const left = (await d.dockerAsync(["images", "-aq"])).trim();
    if (left) throw new Error(`images left in the store after cleaning: ${left}`);
  };
  const prepull = async (
    d: Daemon,
    m: number,
    dir: string,
    refs: string[],
    times: ImageTimes[][],
  ): Promise<number> => {
    const r = await runProcess(
      node,
      snapshotArgv(blob, bin, ["prepull", "--recipe", dir, "--concurrency", String(m), "--json"]),
      envOf(d, m),
    );
    const report = JSON.parse(r.stdout) as { images: ImageTimes[] };
    if (report.images.some((i) => (i as { action?: string }).action !== "pulled"))
      throw new Error(`not every image was pulled: ${r.stdout}`);
    times.push(report.images);
    await clean(d, refs);
    return r.ms;
  };

  const rows: string[][] = [];
  const perImage: string[][] = [];
  const lastMcd = mcds[mcds.length - 1]!;
  const local = recipe("local", reg.host);
  const cleanLog = path.join(work, "clean.log");
  const held: Record<string, string> = { IK_CLEAN_LOG: cleanLog };
  const q = (xs: string[]) => xs.map((x) => `'${x}'`).join(" ");
  /** A held contender: `body` on daemon `m`, then its store emptied of `refs`, timed apart. */
  const heldScript = (name: string, m: number, body: string, refs: string[]) => {
    const d = daemons.get(m)!;
    const exports = Object.entries(envOf(d, m))
      .filter(([k]) => k.startsWith("DOCKER_") || k.startsWith("IMAGEKEEPER_") || k === "HOME")
      .map(([k, v]) => `export ${k}='${v}'`)
      .join("\n");
    const clean = `t=$(date +%s%N); ${DOCKER_CLI} rmi -f ${refs.join(" ")} >/dev/null; echo $(( ($(date +%s%N) - t) / 1000000 )) >> ${cleanLog}`;
    return script(work, name, `${exports}\n${body}\n${clean}`);
  };
  if (holdFile)
    for (const m of mcds) {
      const args = ["prepull", "--recipe", local.dir, "--concurrency", String(m), "--json"];
      held[`IK_LOCAL_${m}`] = heldScript(
        `local-${m}`,
        m,
        `${q([node, ...snapshotArgv(blob, bin, args)])} >/dev/null`,
        local.refs,
      );
    }
  for (const spec of linkSpecs) {
    const links: Links = await startLinks([
      { upstream: reg.host, ...spec, ...(linkMbps ? { linkBps: Number(linkMbps) * MB } : {}) },
    ]);
    started.push(links);
    const linked = links.hosts[0]!;
    const r = recipe(`r${spec.rttMs}`, linked);
    const times = new Map<string, ImageTimes[][]>();
    const contenders: Contender[] = [];
    for (const m of mcds) {
      const d = daemons.get(m)!;
      const loop = `for img in ${r.refs.join(" ")}; do ${DOCKER_CLI} image inspect "$img" >/dev/null 2>&1 || ${DOCKER_CLI} pull -q "$img" >/dev/null; done`;
      await clean(d, [...r.refs, ...local.refs]);
      contenders.push({
        name: `loop@${m}`,
        run: async () => {
          const t = await timeProcess("bash", ["-c", loop], envOf(d, m));
          await clean(d, r.refs);
          return t;
        },
      });
      times.set(`ik@${m}`, []);
      contenders.push({ name: `ik@${m}`, run: () => prepull(d, m, r.dir, r.refs, times.get(`ik@${m}`)!) });
    }
    if (holdFile) {
      for (const m of mcds) {
        const loop = `for img in ${r.refs.join(" ")}; do ${DOCKER_CLI} image inspect "$img" >/dev/null 2>&1 || ${DOCKER_CLI} pull -q "$img" >/dev/null; done`;
        const args = ["prepull", "--recipe", r.dir, "--concurrency", String(m), "--json"];
        held[`IK_LOOP_${spec.rttMs}_${m}`] = heldScript(`loop-${spec.rttMs}-${m}`, m, loop, r.refs);
        held[`IK_IK_${spec.rttMs}_${m}`] = heldScript(
          `ik-${spec.rttMs}-${m}`,
          m,
          `${q([node, ...snapshotArgv(blob, bin, args)])} >/dev/null`,
          r.refs,
        );
      }
      held[`IK_PROBE_${spec.rttMs}`] = script(
        work,
        `probe-${spec.rttMs}`,
        `exec ${q([node, PROBE, linked, ...RECIPE.map((i) => `${i.repo}:1.0`)])} >/dev/null`,
      );
      continue;
    }
    contenders.push({
      name: "probe",
      run: () => timeProcess(node, [PROBE, linked, ...RECIPE.map((i) => `${i.repo}:1.0`)], process.env),
    });
    times.set("local", []);
    contenders.push({
      name: "local",
      run: () => prepull(daemons.get(lastMcd)!, lastMcd, local.dir, local.refs, times.get("local")!),
    });
    const s = await interleave(contenders, runs, 0);
    const limit = s.probe!.map((p, i) => Math.max(p, s.local![i]!));
    const floor =
      (linkMbps
        ? Math.max(largest / spec.connBps, total / (Number(linkMbps) * MB))
        : largest / spec.connBps) *
        1000 +
      4 * spec.rttMs;
    const loop3 = s[`loop@${mcds[0]}`]!;
    rows.push([
      `${spec.rttMs} ms, ${spec.connBps / MB} MB/s`,
      seconds(floor),
      seconds(median(s.probe!)),
      seconds(median(s.local!)),
      seconds(median(limit)),
      ...mcds.flatMap((m) => [seconds(median(s[`loop@${m}`]!)), seconds(median(s[`ik@${m}`]!))]),
      ...mcds.flatMap((m) => [
        ratio(pairedRatio(s[`ik@${m}`]!, loop3)),
        ratio(pairedRatio(s[`ik@${m}`]!, limit)),
      ]),
    ]);
    for (const m of mcds) {
      const runsOf = times.get(`ik@${m}`)!;
      for (const img of RECIPE) {
        const of = (k: "waitMs" | "pullMs" | "bytes") =>
          median(runsOf.map((run) => run.find((x) => x.ref.includes(img.repo))?.[k] ?? Number.NaN));
        perImage.push([
          `${spec.rttMs} ms`,
          `ik@${m}`,
          img.repo,
          (of("bytes") / MB).toFixed(0),
          seconds(of("waitMs")),
          seconds(of("pullMs")),
        ]);
      }
    }
  }
  if (holdFile) await hold(holdFile, held);
  else {
    console.log(
      `Cold prepull of a 4-image recipe (${(total / MB).toFixed(0)} MB of layers, largest ${(largest / MB).toFixed(0)} MB), store emptied before each run: median of ${runs} interleaved rounds (s); ratios are medians of per-round ratios. ${runContext()}`,
    );
    console.log("");
    console.log(
      table(
        [
          "link",
          "floor (largest blob + 4 RTT)",
          "probe",
          "local",
          "limit",
          ...mcds.flatMap((m) => [`loop, daemon ${m}`, `ik --concurrency ${m}, daemon ${m}`]),
          ...mcds.flatMap((m) => [`ik@${m} / loop@${mcds[0]}`, `ik@${m} / limit`]),
        ],
        rows,
      ),
    );
    console.log("");
    console.log(
      "Per image (medians): the time waiting for a download slot and the time pulling, from the report",
    );
    console.log("");
    console.log(table(["link", "run", "image", "MB", "wait s", "pull s"], perImage));
  }
} finally {
  for (const s of started.reverse()) await s.stop();
  rmSync(work, { recursive: true, force: true });
}

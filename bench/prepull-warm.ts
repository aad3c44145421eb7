// Benchmark: a warm `--pull-policy missing` prepull (every image present) against the operators'
// seed loop, side by side in one run on a private testbed. Not a test: it prints a table for
// docs/performance.md.
//   npm run bench -- [--runs 21] [--sizes 4,8,16] [--bin dist/imagekeeper.mjs] [--profile DIR]
//                    [--hold FILE]
// --hold FILE: set the testbed up, write the contenders as scripts ($IK_LOOP4, $IK_SNAPSHOT4, …, in
// FILE with the daemon's environment) and keep it running until SIGTERM, for an outside timer.
// Contenders, for N images (pinned tags, all present), run in turn round after round:
//   node      `node -e 0`: Node's own start, the floor of any Node program
//   loop      the seed plan's loop:  for img; do docker image inspect "$img" || docker pull "$img"; done
//   seed      the seed plan with its resolution step (docker stack config, then the loop)
//   first     imagekeeper, plain bundle, first run on a fresh host: its V8 code cache dir is empty
//             (a new one each run; the run writes it at exit, as a first run does)
//   cached    imagekeeper, plain bundle, with the code cache the first run left
//   snapshot  imagekeeper started from the V8 startup snapshot the Nix package builds
//             (node --snapshot-blob BLOB -- BUNDLE …); it reads no cache at all
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildSnapshot, snapshotArgv } from "../test/support/snapshot.js";
import { hold, script } from "./support/hold.js";
import { DOCKER_CLI, pushImage, startDaemon, startRegistry } from "../test/support/testbed.js";
import {
  flag,
  interleave,
  median,
  ms,
  pairedRatio,
  ratio,
  runContext,
  table,
  timeProcess,
} from "./support/timing.js";

const runs = Number(flag("--runs") ?? 21);
const sizes = (flag("--sizes") ?? "4,8,16").split(",").map(Number);
const bin = path.resolve(flag("--bin") ?? "dist/imagekeeper.mjs");
const prof = flag("--profile");
const holdFile = flag("--hold");
const node = process.execPath;

const work = mkdtempSync(path.join(tmpdir(), "ikbench-"));
const blob = path.join(work, "imagekeeper.blob");
buildSnapshot(bin, blob);
const reg = await startRegistry();
const d = await startDaemon();
try {
  const refs: string[] = [];
  const most = Math.max(...sizes);
  for (let i = 0; i < most; i++)
    refs.push((await pushImage(reg.host, `bench/img${i}`, "1.0.0", { sizeBytes: 4096 })).ref);
  for (const r of refs) await d.dockerAsync(["pull", "-q", r]);
  const cacheDir = path.join(work, "code-cache");
  const env = {
    ...process.env,
    ...d.env,
    IMAGEKEEPER_STATE_DIR: path.join(work, "state"),
    IMAGEKEEPER_CACHE_DIR: cacheDir,
    IMAGEKEEPER_LOG_LEVEL: "warn",
  };
  const bed = (n: number) => {
    const dir = path.join(work, `r${n}`);
    mkdirSync(dir);
    const list = refs.slice(0, n);
    writeFileSync(
      path.join(dir, "compose.yml"),
      `version: "3.8"\nservices:\n${list.map((r, i) => `  s${i}:\n    image: ${r}\n`).join("")}`,
    );
    const loop = `for img in ${list.join(" ")}; do ${DOCKER_CLI} image inspect "$img" >/dev/null 2>&1 || ${DOCKER_CLI} pull "$img"; done`;
    const seed = `cd ${dir} && imgs=$(${DOCKER_CLI} stack config -c compose.yml | sed -n 's/^ *image: //p') && for img in $imgs; do ${DOCKER_CLI} image inspect "$img" >/dev/null 2>&1 || ${DOCKER_CLI} pull "$img"; done`;
    // `missing`: skip-if-present without network, the same work as the loop.
    const args = ["prepull", "--recipe", dir, "--pull-policy", "missing"];
    return { dir, loop, seed, args };
  };
  if (holdFile) {
    const vars: Record<string, string> = { ...d.env };
    for (const k of ["IMAGEKEEPER_STATE_DIR", "IMAGEKEEPER_CACHE_DIR", "IMAGEKEEPER_LOG_LEVEL"] as const)
      vars[k] = env[k];
    const q = (xs: string[]) => xs.map((x) => `'${x}'`).join(" ");
    for (const n of sizes) {
      const b = bed(n);
      vars[`IK_LOOP${n}`] = script(work, `loop${n}`, b.loop);
      vars[`IK_SEED${n}`] = script(work, `seed${n}`, b.seed);
      vars[`IK_CACHED${n}`] = script(work, `cached${n}`, `exec ${q([node, "--", bin, ...b.args])}`);
      vars[`IK_SNAPSHOT${n}`] = script(
        work,
        `snapshot${n}`,
        `exec ${q([node, ...snapshotArgv(blob, bin, b.args)])}`,
      );
    }
    await hold(holdFile, vars);
  }
  const rows: string[][] = [];
  for (const n of holdFile ? [] : sizes) {
    const { loop, seed, args } = bed(n);
    let fresh = 0;
    const samples = await interleave(
      [
        { name: "node", run: () => timeProcess(node, ["-e", "0"], env) },
        { name: "loop", run: () => timeProcess("bash", ["-c", loop], env) },
        { name: "seed", run: () => timeProcess("bash", ["-c", seed], env) },
        {
          name: "first",
          run: async () => {
            const empty = path.join(work, `fresh-cache-${fresh++}`);
            try {
              return await timeProcess(node, ["--", bin, ...args], { ...env, IMAGEKEEPER_CACHE_DIR: empty });
            } finally {
              rmSync(empty, { recursive: true, force: true });
            }
          },
        },
        { name: "cached", run: () => timeProcess(node, ["--", bin, ...args], env) },
        { name: "snapshot", run: () => timeProcess(node, snapshotArgv(blob, bin, args), env) },
      ],
      runs,
    );
    if (prof) {
      const dirOf = (what: string) => path.resolve(prof, `${what}-${n}`);
      await timeProcess(node, ["--cpu-prof", "--cpu-prof-dir", dirOf("cached"), "--", bin, ...args], env);
      await timeProcess(
        node,
        ["--cpu-prof", "--cpu-prof-dir", dirOf("snapshot"), ...snapshotArgv(blob, bin, args)],
        env,
      );
    }
    const m = (k: string) => median(samples[k]!);
    const vsLoop = (k: string) => ratio(pairedRatio(samples[k]!, samples.loop!));
    rows.push([
      String(n),
      ms(m("node")),
      ms(m("loop")),
      ms(m("seed")),
      ms(m("first")),
      ms(m("cached")),
      ms(m("snapshot")),
      vsLoop("first"),
      vsLoop("cached"),
      vsLoop("snapshot"),
    ]);
  }
  if (!holdFile) {
    console.log(
      `Warm prepull --pull-policy missing, all images present: median of ${runs} interleaved rounds (ms); ratios are medians of per-round ratios to the loop. ${runContext()}`,
    );
    console.log("");
    console.log(
      table(
        [
          "images",
          "node -e 0",
          "seed loop",
          "seed plan",
          "ik first run",
          "ik code cache",
          "ik snapshot",
          "first / loop",
          "cache / loop",
          "snapshot / loop",
        ],
        rows,
      ),
    );
  }
} finally {
  await d.stop();
  await reg.stop();
  rmSync(work, { recursive: true, force: true });
}

// Benchmark: a warm prepull (every image present) against the operators' seed plan, side by side
// in one run on a private testbed. Not a test: it prints a table for docs/performance.md.
//   npm run bench -- [--runs 15] [--profile DIR]
// Contenders, for N = 4, 8, 16 images (pinned tags, all present):
//   loop      the seed plan's loop:  for img; do docker image inspect "$img" || docker pull "$img"; done
//   seed      the seed plan with its resolution step (docker stack config, then the loop)
//   ik        imagekeeper prepull --recipe DIR (the shipped bundle, node -- dist/imagekeeper.mjs)
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DOCKER_CLI, pushImage, startDaemon, startRegistry } from "../test/support/testbed.js";

const flag = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(flag("--runs") ?? 15);
const bin = path.resolve(flag("--bin") ?? "dist/imagekeeper.mjs");

function time(cmd: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return ms;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { med, mean, min: s[0]! };
};

const reg = await startRegistry();
const d = await startDaemon();
const work = mkdtempSync(path.join(tmpdir(), "ikbench-"));
try {
  const refs: string[] = [];
  for (let i = 0; i < 16; i++)
    refs.push((await pushImage(reg.host, `bench/img${i}`, "1.0.0", { sizeBytes: 4096 })).ref);
  for (const r of refs) d.docker(["pull", "-q", r]);
  const env = {
    ...process.env,
    ...d.env,
    IMAGEKEEPER_STATE_DIR: path.join(work, "state"),
    IMAGEKEEPER_LOG_LEVEL: "warn",
  };
  const rows: string[] = [];
  for (const n of [4, 8, 16]) {
    const dir = path.join(work, `r${n}`);
    mkdirSync(dir);
    const list = refs.slice(0, n);
    writeFileSync(
      path.join(dir, "compose.yml"),
      `version: "3.8"\nservices:\n${list.map((r, i) => `  s${i}:\n    image: ${r}\n`).join("")}`,
    );
    const loop = `for img in ${list.join(" ")}; do ${DOCKER_CLI} image inspect "$img" >/dev/null 2>&1 || ${DOCKER_CLI} pull "$img"; done`;
    const seed = `cd ${dir} && imgs=$(${DOCKER_CLI} stack config -c compose.yml | sed -n 's/^ *image: //p') && for img in $imgs; do ${DOCKER_CLI} image inspect "$img" >/dev/null 2>&1 || ${DOCKER_CLI} pull "$img"; done`;
    // `missing`: skip-if-present without network, the same work as the loop (auto also asks the
    // registry for each tag's digest: a round trip the loop does not make). Started as the
    // launchers start it: `--` keeps Node's options apart from imagekeeper's.
    const ik = ["--", bin, "prepull", "--recipe", dir, "--pull-policy", "missing"];
    // Warm-up: fills imagekeeper's resolution cache and the OS page cache for every contender.
    time("bash", ["-c", loop], env);
    time("bash", ["-c", seed], env);
    time(process.execPath, ik, env);
    const t = { loop: [] as number[], seed: [] as number[], ik: [] as number[] };
    for (let i = 0; i < runs; i++) {
      // Interleaved, so drift in machine load hits every contender alike.
      t.loop.push(time("bash", ["-c", loop], env));
      t.seed.push(time("bash", ["-c", seed], env));
      t.ik.push(time(process.execPath, ik, env));
    }
    const prof = flag("--profile");
    if (prof) time(process.execPath, ["--cpu-prof", "--cpu-prof-dir", path.resolve(prof), ...ik], env);
    const L = stats(t.loop);
    const S = stats(t.seed);
    const I = stats(t.ik);
    rows.push(
      `| ${n} | ${L.med.toFixed(0)} | ${S.med.toFixed(0)} | ${I.med.toFixed(0)} | ${(I.med / L.med).toFixed(2)}× | ${(I.med / S.med).toFixed(2)}× |`,
    );
  }
  const nodeOnly = stats(
    Array.from({ length: runs }, () => time(process.execPath, ["-e", "0"], process.env)),
  );
  console.log(
    `Warm prepull, all images present; median of ${runs} interleaved runs (ms); node -e 0: ${nodeOnly.med.toFixed(0)} ms`,
  );
  console.log("");
  console.log(
    "| images | seed loop | seed plan (resolve + loop) | imagekeeper prepull | vs loop | vs seed plan |",
  );
  console.log("|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
} finally {
  await d.stop();
  await reg.stop();
}

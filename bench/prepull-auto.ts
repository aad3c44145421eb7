// Benchmark: a warm `--pull-policy auto` prepull (every image present and current: one manifest
// HEAD per tag, through the registry's token flow) against its physical limit, over an emulated
// link with 40 ms and 100 ms round trips (bench/support/link.ts). Not a test: it prints a table for
// docs/performance.md.
//   npm run bench:auto -- [--runs 11] [--sizes 4,16] [--rtts 40,100] [--bin dist/imagekeeper.mjs]
//                         [--hold FILE]
// --hold FILE: set every link up, write the contenders as scripts ($IK_SNAPSHOT_40_4, $IK_PROBE_40_4,
// $IK_PULL_40_4, …) in FILE with the daemon's environment, and keep it all running until SIGTERM.
// The registry is the distribution registry with token auth (anonymous pulls of bench/*, as Docker
// Hub grants for public images), its token service a separate server; each behind its own link.
// Contenders, run in turn round after round:
//   node      `node -e 0`
//   probe     the limit as a process: Node's start, one token request, every HEAD at once on
//             connections opened during the token request (bench/support/limit-probe.mjs)
//   snapshot  imagekeeper prepull --pull-policy auto, started from the startup snapshot (the Nix package)
//   cached    the same from the plain bundle with a warm code cache
//   pull      the digest-true shell loop: for img; do docker pull -q "$img"; done
// Limits quoted beside them: the issue's (Node's start + one round trip for the token + one for the
// HEADs) and the probe's (plus the TCP handshake a fresh connection costs).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildSnapshot, snapshotArgv } from "../test/support/snapshot.js";
import { DOCKER_CLI, pushImage, startDaemon } from "../test/support/testbed.js";
import { startTokenRegistry, type TokenRegistry } from "../test/support/token-registry.js";
import { hold, script } from "./support/hold.js";
import { type Links, startLinks } from "./support/link.js";
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

const runs = Number(flag("--runs") ?? 11);
const sizes = (flag("--sizes") ?? "4,16").split(",").map(Number);
const rtts = (flag("--rtts") ?? "40,100").split(",").map(Number);
const bin = path.resolve(flag("--bin") ?? "dist/imagekeeper.mjs");
const node = process.execPath;
const holdFile = flag("--hold");
const PROBE = path.resolve("bench/support/limit-probe.mjs");
const USER = "bench";
const PASSWORD = "bench-password";

const work = mkdtempSync(path.join(tmpdir(), "ikbench-auto-"));
const blob = path.join(work, "imagekeeper.blob");
buildSnapshot(bin, blob);
const d = await startDaemon();
const started: { stop(): Promise<void> }[] = [];
try {
  const rows: string[][] = [];
  const held: Record<string, string> = { ...d.env };
  const q = (xs: string[]) => xs.map((x) => `'${x}'`).join(" ");
  for (const rtt of rtts) {
    let tokenLink: Links | undefined;
    const tok: TokenRegistry = await startTokenRegistry(USER, PASSWORD, {
      publicPrefix: "bench/",
      realmHost: async (h) => {
        tokenLink = await startLinks([{ upstream: h, rttMs: rtt }]);
        return tokenLink.hosts[0]!;
      },
    });
    started.push(tok, tokenLink!);
    const regLink = await startLinks([{ upstream: tok.host, rttMs: rtt }]);
    started.push(regLink);
    const linked = regLink.hosts[0]!;
    // The challenge names the realm (through the link) and the service.
    const challenge = (await fetch(`http://${tok.host}/v2/`)).headers.get("www-authenticate") ?? "";
    const param = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(challenge)?.[1] ?? "";
    const realm = param("realm");
    const service = param("service");
    const bearer = async (repo: string) => {
      const u = new URL(realm);
      u.searchParams.set("service", service);
      u.searchParams.set("scope", `repository:${repo}:push,pull`);
      const r = await fetch(u, {
        headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}` },
      });
      return `Bearer ${((await r.json()) as { token: string }).token}`;
    };
    const most = Math.max(...sizes);
    const tags: string[] = [];
    for (let i = 0; i < most; i++) {
      const repo = `bench/img${i}`;
      await pushImage(tok.host, repo, "1.0.0", { sizeBytes: 4096, authorization: await bearer(repo) });
      tags.push(`${repo}:1.0.0`);
      await d.dockerAsync(["pull", "-q", `${linked}/${repo}:1.0.0`]);
    }
    const env = {
      ...process.env,
      ...d.env,
      IMAGEKEEPER_STATE_DIR: path.join(work, `state-${rtt}`),
      IMAGEKEEPER_CACHE_DIR: path.join(work, "code-cache"),
      IMAGEKEEPER_LOG_LEVEL: "warn",
    };
    for (const n of sizes) {
      const dir = path.join(work, `r${rtt}-${n}`);
      mkdirSync(dir);
      const refs = tags.slice(0, n).map((t) => `${linked}/${t}`);
      writeFileSync(
        path.join(dir, "compose.yml"),
        `version: "3.8"\nservices:\n${refs.map((r, i) => `  s${i}:\n    image: ${r}\n`).join("")}`,
      );
      const args = ["prepull", "--recipe", dir, "--pull-policy", "auto"];
      const pullLoop = `for img in ${refs.join(" ")}; do ${DOCKER_CLI} pull -q "$img" >/dev/null; done`;
      if (holdFile) {
        Object.assign(held, {
          IMAGEKEEPER_STATE_DIR: env.IMAGEKEEPER_STATE_DIR,
          IMAGEKEEPER_CACHE_DIR: env.IMAGEKEEPER_CACHE_DIR,
          IMAGEKEEPER_LOG_LEVEL: env.IMAGEKEEPER_LOG_LEVEL,
          [`IK_SNAPSHOT_${rtt}_${n}`]: script(
            work,
            `snapshot-${rtt}-${n}`,
            `exec ${q([node, ...snapshotArgv(blob, bin, args)])}`,
          ),
          [`IK_CACHED_${rtt}_${n}`]: script(
            work,
            `cached-${rtt}-${n}`,
            `exec ${q([node, "--", bin, ...args])}`,
          ),
          [`IK_PROBE_${rtt}_${n}`]: script(
            work,
            `probe-${rtt}-${n}`,
            `exec ${q([node, PROBE, linked, realm, service, ...tags.slice(0, n)])}`,
          ),
          [`IK_PULL_${rtt}_${n}`]: script(work, `pull-${rtt}-${n}`, pullLoop),
        });
        continue;
      }
      const samples = await interleave(
        [
          { name: "node", run: () => timeProcess(node, ["-e", "0"], env) },
          {
            name: "probe",
            run: () => timeProcess(node, [PROBE, linked, realm, service, ...tags.slice(0, n)], env),
          },
          { name: "snapshot", run: () => timeProcess(node, snapshotArgv(blob, bin, args), env) },
          { name: "cached", run: () => timeProcess(node, ["--", bin, ...args], env) },
          { name: "pull", run: () => timeProcess("bash", ["-c", pullLoop], env) },
        ],
        runs,
      );
      const m = (k: string) => median(samples[k]!);
      const issueLimit = samples.node!.map((x) => x + 2 * rtt);
      rows.push([
        String(rtt),
        String(n),
        ms(m("node")),
        ms(median(issueLimit)),
        ms(m("probe")),
        ms(m("snapshot")),
        ms(m("cached")),
        ms(m("pull")),
        ratio(pairedRatio(samples.snapshot!, issueLimit)),
        ratio(pairedRatio(samples.snapshot!, samples.probe!)),
        ratio(pairedRatio(samples.snapshot!, samples.pull!)),
      ]);
    }
  }
  if (holdFile) await hold(holdFile, held);
  else {
    console.log(
      `Warm prepull --pull-policy auto, all images present and current, over an emulated link: median of ${runs} interleaved rounds (ms); ratios are medians of per-round ratios. ${runContext()}`,
    );
    console.log("");
    console.log(
      table(
        [
          "RTT ms",
          "images",
          "node -e 0",
          "limit: node + 2 RTT",
          "probe (node + TCP + token + HEADs)",
          "ik snapshot",
          "ik code cache",
          "docker pull loop",
          "snapshot / limit",
          "snapshot / probe",
          "snapshot / pull loop",
        ],
        rows,
      ),
    );
  }
} finally {
  await d.stop();
  for (const s of started.reverse()) await s.stop();
  rmSync(work, { recursive: true, force: true });
}

// The demo: a private dockerd and registry on this machine (no real registry is reachable here),
// the example recipe in examples/, then a cold prepull, a warm one, a pull from a slow registry
// as a CI log shows it (no terminal: readable lines, "still pulling" at an interval), and a
// deliberately bad tag.
// Docker Hub names (nginx, postgres) are served through the daemon's registry mirror.
//   bash scripts/demo.sh
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startProxy } from "../test/support/proxy.js";
import { pushImage, startDaemon, startRegistry } from "../test/support/testbed.js";

const BIN = path.resolve("dist/imagekeeper.mjs");
const say = (s: string) => process.stdout.write(`\n\x1b[1m== ${s}\x1b[0m\n`);

say("starting a private registry and dockerd (they stop when the demo ends)");
const reg = await startRegistry();
const d = await startDaemon({ mirrors: [reg.url] });
const state = mkdtempSync(path.join(tmpdir(), "ikdemo-"));
const env = { ...process.env, ...d.env, IMAGEKEEPER_STATE_DIR: state, IMAGEKEEPER_RUN_DIR: state };
let failed = false;

function ik(title: string, args: string[], expect: number) {
  say(`${title}\n$ imagekeeper ${args.join(" ")}`);
  const t = Date.now();
  // `--`: an `--env-file` after the script is imagekeeper's, not Node's (nodejs/node#54232).
  const r = spawnSync(process.execPath, ["--", BIN, ...args], { env, stdio: "inherit" });
  console.log(`(exit ${r.status}, ${Date.now() - t} ms)`);
  if (r.status !== expect) {
    console.log(`!! expected exit ${expect}`);
    failed = true;
  }
}

/**
 * As `ik`, but with stdout and stderr piped, as a CI runner collects them (no terminal), then
 * shown; and without blocking this process, whose throttling proxy must keep serving.
 */
async function ikLogged(title: string, args: string[], expect: number): Promise<void> {
  say(`${title}\n$ imagekeeper ${args.join(" ")} 2>&1 | cat`);
  const t = Date.now();
  const child = spawn(process.execPath, ["--", BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(process.stdout);
  child.stderr.pipe(process.stdout);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  console.log(`(exit ${code}, ${Date.now() - t} ms)`);
  if (code !== expect) {
    console.log(`!! expected exit ${expect}`);
    failed = true;
  }
}

const proxy = await startProxy(reg.host);
try {
  for (const [name, tag, size] of [
    ["library/nginx", "1.27.1", 8],
    ["library/postgres", "16.4", 12],
    ["coop-cloud/worker", "2.1.0", 4],
    ["coop-cloud/smtp", "1.4.0", 2],
    ["coop-cloud/worker", "2.2.0", 8],
  ] as const) {
    await pushImage(reg.host, name, tag, { sizeBytes: size * 1024 * 1024 });
  }
  console.log(
    `registry ${reg.host} holds nginx:1.27.1, postgres:16.4, coop-cloud/worker:2.1.0, coop-cloud/smtp:1.4.0`,
  );
  // A recipe is a git repository whose releases are tags; the app .env pins one (TYPE=NAME:VERSION,
  // as abra app new writes it), and prepull reads that version through git, as abra deploys it.
  const recipe = path.join(state, "recipe");
  cpSync("examples/recipe", recipe, { recursive: true });
  for (const args of [
    ["init", "-q"],
    ["add", "."],
    ["commit", "-qm", "release"],
    ["tag", "1.0.0+1.27.1"],
  ])
    execFileSync("git", ["-C", recipe, "-c", "user.name=demo", "-c", "user.email=demo@example.org", ...args]);
  const sel = ["--recipe", recipe, "--env-file", "examples/app.env", "--set", `REGISTRY=${reg.host}`];
  ik("the images the deploy will use", ["images", ...sel], 0);
  ik("cold prepull: everything is pulled", ["prepull", ...sel], 0);
  ik("warm prepull: one HEAD per tag finds every digest present, nothing is pulled", ["prepull", ...sel], 0);
  // The registry behind a proxy that sends blobs at 1.5 MB/s: an 8 MB upgrade takes a few seconds.
  proxy.rules.push({
    match: (_m, u) => u.includes("/blobs/"),
    action: { kind: "throttle", bytesPerSecond: 1_500_000 },
  });
  await ikLogged(
    "a slow registry, as a CI log shows it (no terminal): a line per state change, 'still pulling' every 2 s",
    [
      "prepull",
      ...sel,
      "--set",
      `REGISTRY=${proxy.host}`,
      "--set",
      "WORKER_VERSION=2.2.0",
      "--progress-interval",
      "2s",
    ],
    0,
  );
  proxy.reset();
  ik(
    "a deliberately bad tag fails fast and clearly (exit 1)",
    ["prepull", ...sel, "--set", "WORKER_VERSION=9.9.9"],
    1,
  );
  const broken = path.join(state, "broken.env");
  writeFileSync(broken, 'COMPOSE_FILE="compose.yml:compose.mail.yml"\n');
  ik(
    "a typo in the app .env is bad input (exit 2): nothing is pulled",
    ["prepull", "--recipe", "examples/recipe", "--env-file", broken],
    2,
  );
} finally {
  await proxy.close();
  await d.stop();
  await reg.stop();
}
say(failed ? "demo finished with unexpected results" : "demo finished: all steps behaved as expected");
process.exitCode = failed ? 1 : 0;

// Every directory imagekeeper creates, intermediate ones included, is group-shared whatever the
// umask: two real users in one group (the CI runner and the prune service), each under umask 077
// and then 022. The runner's prepull creates the state dir as an intermediate of its cache, and the
// metrics textfile's directory; the prune service then writes the ledger, its state and the
// metrics there, and creates the run dir; the runner writes the ledger again and runs under a
// lease in the run dir the service made. Against a real engine; root only (users).
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin } from "../support/cli.js";
import { BUSYBOX, type Daemon, DOCKER_CLI, startDaemon, tempDir } from "../support/testbed.js";
import { runAs, type TestUser, type TestUsers, makeUsers } from "../support/users.js";

const isRoot = process.getuid?.() === 0;
const IMAGE = "ik/busy:1";

let d: Daemon;
let users: TestUsers;
let runner: TestUser;
let service: TestUser;
let root: string;
let ik: string;

describe.skipIf(!isRoot)("directories shared by the runner and the prune service", () => {
  beforeAll(async () => {
    d = await startDaemon();
    users = makeUsers("iks", 2);
    [runner, service] = users.users as [TestUser, TestUser];
    // Both users reach the daemon through the group, as the docker group would let them.
    chmodSync(d.dir, 0o711);
    chownSync(d.socket, 0, users.group.gid);
    chmodSync(d.socket, 0o660);
    // An image without a registry: a busybox root filesystem, imported.
    const fs = tempDir("ikfs");
    mkdirSync(path.join(fs, "bin"));
    copyFileSync(BUSYBOX, path.join(fs, "bin/busybox"));
    const tar = execFileSync("tar", ["-C", fs, "-cf", "-", "."], { maxBuffer: 1 << 26 });
    execFileSync(DOCKER_CLI, ["import", "-", IMAGE], { input: tar, env: { ...process.env, ...d.env } });
    root = tempDir("ikshared");
    chmodSync(root, 0o755);
    ik = path.join(root, "imagekeeper.mjs");
    copyFileSync(bin(), ik);
    chmodSync(ik, 0o755);
    const recipe = path.join(root, "recipe");
    mkdirSync(recipe);
    writeFileSync(
      path.join(recipe, "compose.yml"),
      `version: "3.8"\nservices:\n  app:\n    image: ${IMAGE}\n`,
    );
    writeFileSync(path.join(recipe, "app.env"), "TYPE=busy\n");
  });

  afterAll(async () => {
    users?.remove();
    await d?.stop();
  });

  it.each(["077", "022"])("under umask %s", async (umask) => {
    // What the administrator provides: a base the group may write (e.g. /var/lib/ci). Everything
    // below it is imagekeeper's to create, two levels deep.
    const base = path.join(root, `base-${umask}`);
    mkdirSync(base);
    chownSync(base, 0, users.group.gid);
    chmodSync(base, 0o2770);
    const stateDir = path.join(base, "lib", "state");
    const runDir = path.join(base, "run", "imagekeeper");
    const textfile = path.join(base, "metrics", "node", "imagekeeper.prom");
    const config = path.join(base, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        stateDir,
        runDir,
        docker: DOCKER_CLI,
        // Pressure on any real disk, but nothing old enough to remove: prune writes its state.
        prune: { highWatermarkPercent: 2, lowWatermarkPercent: 1, criticalWatermarkPercent: 3, minAge: "1h" },
        metrics: { textfile },
      }),
    );
    chmodSync(config, 0o644);
    const env = {
      PATH: process.env.PATH,
      DOCKER_HOST: d.env.DOCKER_HOST,
      IMAGEKEEPER_CONFIG: config,
      IMAGEKEEPER_LOG_LEVEL: "info",
      HOME: "/nonexistent",
    };
    const as = async (user: TestUser, args: string[]) => {
      const r = await runAs(user, [process.execPath, "--", ik, ...args], { env, umask });
      expect(r.code, `${user.name} ${args.join(" ")} (umask ${umask}): ${r.stderr}`).toBe(0);
      return r;
    };
    const prepull = () =>
      as(runner, [
        "prepull",
        "--recipe",
        path.join(root, "recipe"),
        "--env-file",
        path.join(root, "recipe", "app.env"),
        "--json",
      ]);

    // 1. The runner's prepull creates the state dir (and its parent) as intermediates of the cache.
    expect(JSON.parse((await prepull()).stdout)).toMatchObject({ ok: true });
    const shared = (dir: string, mode: number) => {
      const st = statSync(dir);
      expect({ dir, mode: `0${(st.mode & 0o7777).toString(8)}`, gid: st.gid }).toEqual({
        dir,
        mode: `0${mode.toString(8)}`,
        gid: users.group.gid,
      });
    };
    for (const dir of [path.join(base, "lib"), stateDir, path.join(stateDir, "cache")]) shared(dir, 0o2775);
    for (const dir of [path.join(base, "metrics"), path.dirname(textfile)]) shared(dir, 0o2775);
    // When the ledger last recorded what an app needs (a prepull writes it).
    const lastNeed = () =>
      Math.max(
        ...Object.values(
          (
            JSON.parse(readFileSync(path.join(stateDir, "ledger.json"), "utf8")) as {
              needs: Record<string, { at: number }>;
            }
          ).needs,
        ).map((n) => n.at),
      );
    const firstPrepull = lastNeed();

    // 2. The prune service writes the ledger, its own state and the metrics there, and creates the
    //    run dir (sticky) for the runner.
    const prune = JSON.parse((await as(service, ["prune", "--json"])).stdout) as { outcome: string };
    expect(["pruned", "insufficient"]).toContain(prune.outcome);
    expect(statSync(path.join(stateDir, "last-prune.json")).uid).toBe(service.uid);
    expect(statSync(path.join(stateDir, "ledger.json")).uid).toBe(service.uid);
    expect(readFileSync(textfile, "utf8")).toContain("imagekeeper_prune_runs_total");
    for (const dir of [path.join(base, "run"), runDir]) shared(dir, 0o3770);

    // 3. The runner again: the ledger the service last wrote, and a lease in the service's run dir.
    await prepull();
    expect(lastNeed()).toBeGreaterThan(firstPrepull);
    expect(statSync(path.join(stateDir, "ledger.json")).uid).toBe(runner.uid);
    await as(runner, ["run", "--", "true"]);
    // Files are group-readable and, where the other user replaces them, group-writable.
    for (const f of ["ledger.json", "last-prune.json", "metrics.json"])
      expect(statSync(path.join(stateDir, f)).mode & 0o060).toBe(0o060);
  });
});

// `imagekeeper doctor` end to end: the bundled CLI against a private dockerd, as root and as an
// unprivileged runner user (setpriv, with and without the socket's and the shared dir's groups),
// with real run and state dirs of right and wrong modes, a docker client config whose credsStore
// helper does not exist, and a daemon that is not there.
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Daemon, DOCKER_CLI, startDaemon } from "../support/testbed.js";

const bin = inject("imagekeeperBin");
const isRoot = process.getuid?.() === 0;
const RUNNER = 41021;
const SHARED = 41020;

let d: Daemon;
let work: string;
let ik: string;

interface Check {
  id: string;
  title: string;
  status: "ok" | "warn" | "fail";
  message: string;
  fix?: string;
}

beforeAll(async () => {
  d = await startDaemon();
  work = mkdtempSync(path.join(tmpdir(), "ikdoctor-"));
  chmodSync(work, 0o755);
  // A copy every user may run.
  ik = path.join(work, "imagekeeper.mjs");
  copyFileSync(bin, ik);
  chmodSync(ik, 0o755);
});

afterAll(async () => {
  await d?.stop();
});

function dirs(runMode: number, stateMode: number) {
  const base = mkdtempSync(path.join(work, "host-"));
  chmodSync(base, 0o755);
  const run = path.join(base, "run");
  const state = path.join(base, "state");
  mkdirSync(run);
  mkdirSync(state);
  chownSync(run, 0, SHARED);
  chownSync(state, 0, SHARED);
  chmodSync(run, runMode);
  chmodSync(state, stateMode);
  return { run, state };
}

function dockerConfig(config: unknown): string {
  const dir = mkdtempSync(path.join(work, "dc-"));
  chmodSync(dir, 0o755);
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(config), { mode: 0o644 });
  return dir;
}

const HUB = {
  auths: { "https://index.docker.io/v1/": { auth: Buffer.from("ci:token").toString("base64") } },
};

function doctor(
  args: string[],
  o: {
    run: string;
    state: string;
    dockerConfig: string;
    dockerHost?: string;
    as?: { uid: number; groups: number[] };
  },
) {
  const env = {
    ...process.env,
    DOCKER_HOST: o.dockerHost ?? d.env.DOCKER_HOST,
    DOCKER_CONFIG: o.dockerConfig,
    HOME: "/",
    IMAGEKEEPER_RUN_DIR: o.run,
    IMAGEKEEPER_STATE_DIR: o.state,
    IMAGEKEEPER_DOCKER: DOCKER_CLI,
    IMAGEKEEPER_CONFIG: undefined,
    IMAGEKEEPER_CACHE_DIR: undefined,
  };
  const argv = [process.execPath, ik, "doctor", ...args];
  const r = o.as
    ? spawnSync(
        "setpriv",
        [
          "--reuid",
          String(o.as.uid),
          "--regid",
          String(o.as.uid),
          "--groups",
          o.as.groups.join(","),
          "--",
          ...argv,
        ],
        { env, encoding: "utf8" },
      )
    : spawnSync(argv[0]!, argv.slice(1), { env, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const checksOf = (stdout: string) => (JSON.parse(stdout) as { ok: boolean; checks: Check[] }).checks;
const find = (checks: Check[], id: string) => checks.find((c) => c.id === id);

describe("doctor", () => {
  it("a healthy host: no failure, exit 0, one line per check", () => {
    const h = dirs(0o3770, 0o2775);
    const r = doctor([], { ...h, dockerConfig: dockerConfig(HUB) });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.at(-1)).toMatch(/^doctor: 0 failed, \d+ warnings?, \d+ ok$/);
    expect(r.stdout).toMatch(
      /^ok {4}docker daemon +Docker Engine 20\.\d+\.\S+ at unix:\/\/\S+d\.sock, root dir \S+$/m,
    );
    expect(r.stdout).toMatch(/^ok {4}docker client +docker \d+\.\d+\.\d+ at \S+, has docker stack config$/m);
    expect(r.stdout).toMatch(
      new RegExp(`^ok {4}run dir +${h.run} \\(root:\\S+ 3770\\), root may take leases in it$`, "m"),
    );
    expect(r.stdout).toMatch(/^ok {4}flock, setpriv +\S+flock, \S+setpriv \(--pdeathsig\)$/m);
    expect(r.stdout).toMatch(/^ok {4}clock +in step with the daemon \(\d+\.\d s apart\)$/m);
    const json = doctor(["--json"], { ...h, dockerConfig: dockerConfig(HUB) });
    const checks = checksOf(json.stdout);
    expect(checks.filter((c) => c.status === "fail")).toEqual([]);
    expect(checks.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        "config",
        "docker-client",
        "daemon",
        "docker-group",
        "run-dir",
        "state-dir",
        "group",
        "tools",
        "credentials",
        "clock",
      ]),
    );
  });

  it("a credsStore whose helper is missing fails, naming the helper and the fix", () => {
    const h = dirs(0o3770, 0o2775);
    const r = doctor(["--json"], { ...h, dockerConfig: dockerConfig({ ...HUB, credsStore: "nosuchstore" }) });
    expect(r.code).toBe(1);
    const c = find(checksOf(r.stdout), "credentials")!;
    expect(c.status).toBe("fail");
    expect(c.message).toContain(
      'credsStore "nosuchstore" needs docker-credential-nosuchstore, which is not on PATH',
    );
    expect(c.fix).toContain('Remove "credsStore"');
  });

  it("dirs without setgid or group write fail; a missing run dir is a warning", () => {
    const h = dirs(0o0750, 0o0755);
    const r = doctor(["--json"], { ...h, dockerConfig: dockerConfig(HUB) });
    expect(r.code).toBe(1);
    const checks = checksOf(r.stdout);
    expect(find(checks, "run-dir")).toMatchObject({
      status: "fail",
      message: expect.stringMatching(/not setgid.*not group-writable/),
    });
    expect(find(checks, "state-dir")).toMatchObject({ status: "fail" });
    const missing = doctor(["--json"], {
      run: path.join(work, "no", "run"),
      state: h.state,
      dockerConfig: dockerConfig(HUB),
    });
    expect(find(checksOf(missing.stdout), "run-dir")).toMatchObject({
      status: "warn",
      message: expect.stringContaining("does not exist"),
    });
  });

  it("no daemon: the daemon check fails, the clock cannot be compared, exit 1", () => {
    const h = dirs(0o3770, 0o2775);
    const r = doctor(["--json"], {
      ...h,
      dockerConfig: dockerConfig(HUB),
      dockerHost: `unix://${path.join(work, "nothing.sock")}`,
    });
    expect(r.code).toBe(1);
    const checks = checksOf(r.stdout);
    expect(find(checks, "daemon")).toMatchObject({
      status: "fail",
      message: expect.stringContaining("no daemon listening (ENOENT)"),
    });
    expect(find(checks, "clock")!.message).toContain("not available");
  });

  describe.skipIf(!isRoot)("as an unprivileged runner user", () => {
    let sockGid: number;
    beforeAll(() => {
      // The daemon's directory must be traversable for the socket's own mode and group to decide.
      chmodSync(d.dir, 0o755);
      sockGid = statSync(d.socket).gid;
      chmodSync(d.socket, 0o660);
    });

    it("not in the socket's group nor the shared one: both fail, with the usermod fix", () => {
      const h = dirs(0o3770, 0o2775);
      const r = doctor(["--json"], {
        ...h,
        dockerConfig: dockerConfig(HUB),
        as: { uid: RUNNER, groups: [RUNNER] },
      });
      expect(r.code).toBe(1);
      const checks = checksOf(r.stdout);
      expect(find(checks, "daemon")).toMatchObject({
        status: "fail",
        message: expect.stringContaining("permission denied"),
      });
      expect(find(checks, "docker-group")).toMatchObject({
        status: "fail",
        message: expect.stringMatching(
          new RegExp(`is not in \\S+, the group of ${d.socket.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
        ),
        fix: expect.stringContaining("usermod -aG"),
      });
      expect(find(checks, "group")).toMatchObject({
        status: "fail",
        fix: expect.stringContaining("usermod -aG"),
      });
      expect(find(checks, "run-dir")).toMatchObject({
        status: "fail",
        message: expect.stringContaining("cannot take leases in it"),
      });
    });

    it("in both groups: the daemon answers and the dirs are usable", () => {
      const h = dirs(0o3770, 0o2775);
      const r = doctor(["--json"], {
        ...h,
        dockerConfig: dockerConfig(HUB),
        as: { uid: RUNNER, groups: [RUNNER, SHARED, sockGid] },
      });
      const checks = checksOf(r.stdout);
      expect(find(checks, "daemon")!.status).toBe("ok");
      expect(find(checks, "docker-group")!.status).toBe("ok");
      expect(find(checks, "group")).toMatchObject({
        status: "ok",
        message: expect.stringContaining(`the group of ${h.run}`),
      });
      expect(find(checks, "run-dir")!.status).toBe("ok");
      expect(find(checks, "state-dir")!.status).toBe("ok");
      expect(r.code).toBe(0);
    });
  });
});

import { describe, expect, it } from "vitest";
import {
  type CheckResult,
  type DoctorFacts,
  NOT_BEFORE,
  runChecks,
  SKEW_FAIL_MS,
  SKEW_WARN_MS,
} from "../../src/doctor/checks.js";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const GROUPS: Record<number, string> = { 0: "root", 990: "docker", 991: "imagekeeper", 1000: "ci" };
const USERS: Record<number, string> = { 0: "root", 1000: "ci" };

/** A healthy host, seen by the runner user `ci` (1000), in docker and imagekeeper. */
function facts(over: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    now: NOW,
    configPath: "/etc/imagekeeper/config.json",
    docker: { binary: "docker", path: "/usr/bin/docker", version: "28.2.2", stackConfig: true },
    daemon: {
      endpoint: "unix:///var/run/docker.sock",
      serverVersion: "20.10.24",
      rootDir: "/var/lib/docker",
      systemTime: new Date(NOW + 100).toISOString(),
      askedAt: NOW,
      answeredAt: NOW + 200,
    },
    socket: { path: "/var/run/docker.sock", uid: 0, gid: 990, mode: 0o140660 },
    runDir: { path: "/run/imagekeeper", exists: true, uid: 0, gid: 991, mode: 0o43770, writable: true },
    stateDir: { path: "/var/lib/imagekeeper", exists: true, uid: 0, gid: 991, mode: 0o42775, writable: true },
    user: { uid: 1000, name: "ci", groups: [1000, 990, 991], listedIn: [1000, 990, 991] },
    groupName: (g) => GROUPS[g] ?? String(g),
    userName: (u) => USERS[u] ?? String(u),
    tools: { flock: "/usr/bin/flock", setpriv: "/usr/bin/setpriv", pdeathsig: true },
    dockerConfig: {
      file: "/home/ci/.docker/config.json",
      exists: true,
      credHelpers: {},
      auths: ["https://index.docker.io/v1/"],
      helperFound: {},
    },
    ...over,
  };
}

const byId = (checks: CheckResult[], id: string) => checks.find((c) => c.id === id);
const status = (f: DoctorFacts) => Object.fromEntries(runChecks(f).map((c) => [c.id, c.status]));

describe("doctor checks", () => {
  it("a healthy host: every check ok, in a fixed order", () => {
    const checks = runChecks(facts());
    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ["config", "ok"],
      ["docker-client", "ok"],
      ["daemon", "ok"],
      ["docker-group", "ok"],
      ["run-dir", "ok"],
      ["state-dir", "ok"],
      ["group", "ok"],
      ["tools", "ok"],
      ["credentials", "ok"],
      ["clock", "ok"],
    ]);
    expect(byId(checks, "docker-client")!.message).toBe(
      "docker 28.2.2 at /usr/bin/docker, has docker stack config",
    );
    expect(byId(checks, "run-dir")!.message).toBe(
      "/run/imagekeeper (root:imagekeeper 3770), ci may take leases in it",
    );
    for (const c of checks) expect(c.fix).toBeUndefined();
  });

  type Row = [string, Partial<DoctorFacts>, string, "ok" | "warn" | "fail", RegExp];
  const rows: Row[] = [
    [
      "docker client missing",
      { docker: { binary: "docker", stackConfig: false, error: "was not found on PATH" } },
      "docker-client",
      "fail",
      /not found on PATH/,
    ],
    [
      "docker client without stack config",
      { docker: { binary: "docker", path: "/usr/bin/docker", version: "20.10.24", stackConfig: false } },
      "docker-client",
      "fail",
      /has no `docker stack config`/,
    ],
    [
      "daemon: permission denied",
      { daemon: { endpoint: "unix:///var/run/docker.sock", error: "EACCES" } },
      "daemon",
      "fail",
      /permission denied/,
    ],
    [
      "daemon: not running",
      { daemon: { endpoint: "unix:///var/run/docker.sock", error: "ENOENT" } },
      "daemon",
      "fail",
      /no daemon listening \(ENOENT\)/,
    ],
    [
      "daemon: refused",
      { daemon: { endpoint: "tcp://h:2375", error: "ECONNREFUSED" } },
      "daemon",
      "fail",
      /no daemon listening/,
    ],
    [
      "daemon: other",
      { daemon: { endpoint: "tcp://h:2375", error: "/_ping answered 500" } },
      "daemon",
      "fail",
      /answered 500/,
    ],
    [
      "not in the socket's group, daemon refused",
      {
        daemon: { endpoint: "unix:///var/run/docker.sock", error: "EACCES" },
        user: { uid: 1000, name: "ci", groups: [1000, 991], listedIn: [1000, 991] },
      },
      "docker-group",
      "fail",
      /ci is not in docker, the group of/,
    ],
    [
      "listed in docker but not in this session",
      {
        daemon: { endpoint: "unix:///var/run/docker.sock", error: "EACCES" },
        user: { uid: 1000, name: "ci", groups: [1000, 991], listedIn: [1000, 990, 991] },
      },
      "docker-group",
      "fail",
      /listed in docker, but this session does not have the group yet/,
    ],
    [
      "not in the socket's group, but the daemon answered",
      { user: { uid: 1000, name: "ci", groups: [1000, 991], listedIn: [1000, 991] } },
      "docker-group",
      "ok",
      /ci may use \/var\/run\/docker\.sock/,
    ],
    [
      "socket open to all",
      {
        socket: { path: "/var/run/docker.sock", uid: 0, gid: 0, mode: 0o140666 },
        user: { uid: 1000, name: "ci", groups: [1000, 991], listedIn: [1000, 991] },
      },
      "docker-group",
      "warn",
      /open to every user/,
    ],
    [
      "root",
      { user: { uid: 0, name: "root", groups: [0], listedIn: [0] } },
      "docker-group",
      "ok",
      /root may use/,
    ],
    [
      "socket owner",
      {
        socket: { path: "/s", uid: 1000, gid: 0, mode: 0o140600 },
        user: { uid: 1000, name: "ci", groups: [1000], listedIn: [1000] },
      },
      "docker-group",
      "ok",
      /ci owns \/s/,
    ],
    [
      "run dir missing, creatable",
      { runDir: { path: "/run/imagekeeper", exists: false, writable: true } },
      "run-dir",
      "warn",
      /does not exist; the first command creates it/,
    ],
    [
      "run dir missing, not creatable",
      { runDir: { path: "/run/imagekeeper", exists: false, writable: false } },
      "run-dir",
      "fail",
      /this user cannot create it/,
    ],
    [
      "run dir not setgid",
      { runDir: { path: "/run/imagekeeper", exists: true, uid: 0, gid: 991, mode: 0o40770, writable: true } },
      "run-dir",
      "fail",
      /not setgid/,
    ],
    [
      "run dir not group-writable",
      { runDir: { path: "/run/imagekeeper", exists: true, uid: 0, gid: 991, mode: 0o42750, writable: true } },
      "run-dir",
      "fail",
      /not group-writable/,
    ],
    [
      "run dir group rw but not x",
      { runDir: { path: "/run/imagekeeper", exists: true, uid: 0, gid: 991, mode: 0o42760, writable: true } },
      "run-dir",
      "fail",
      /not group-writable/,
    ],
    [
      "run dir not writable by us",
      {
        runDir: { path: "/run/imagekeeper", exists: true, uid: 0, gid: 991, mode: 0o43770, writable: false },
      },
      "run-dir",
      "fail",
      /cannot take leases in it/,
    ],
    [
      "run dir open to all",
      { runDir: { path: "/run/imagekeeper", exists: true, uid: 0, gid: 991, mode: 0o43777, writable: true } },
      "run-dir",
      "warn",
      /writable by every user/,
    ],
    [
      "run dir 2770 is fine too",
      { runDir: { path: "/run/imagekeeper", exists: true, uid: 0, gid: 991, mode: 0o42770, writable: true } },
      "run-dir",
      "ok",
      /2770/,
    ],
    [
      "state dir 2775",
      {
        stateDir: {
          path: "/var/lib/imagekeeper",
          exists: true,
          uid: 0,
          gid: 991,
          mode: 0o42775,
          writable: true,
        },
      },
      "state-dir",
      "ok",
      /write state/,
    ],
    [
      "state dir 0755",
      {
        stateDir: {
          path: "/var/lib/imagekeeper",
          exists: true,
          uid: 0,
          gid: 0,
          mode: 0o40755,
          writable: false,
        },
      },
      "state-dir",
      "fail",
      /not setgid.*not group-writable/,
    ],
    [
      "not in the shared group",
      { user: { uid: 1000, name: "ci", groups: [1000, 990], listedIn: [1000, 990] } },
      "group",
      "fail",
      /ci is not in imagekeeper, the group of \/run\/imagekeeper/,
    ],
    [
      "added to the shared group since login",
      { user: { uid: 1000, name: "ci", groups: [1000, 990], listedIn: [1000, 990, 991] } },
      "group",
      "fail",
      /log in again|this session does not have the group/,
    ],
    [
      "owner of the run dir, not in its group",
      {
        runDir: {
          path: "/run/imagekeeper",
          exists: true,
          uid: 1000,
          gid: 991,
          mode: 0o43770,
          writable: true,
        },
        user: { uid: 1000, name: "ci", groups: [1000, 990], listedIn: [1000, 990] },
      },
      "group",
      "warn",
      /owns \/run\/imagekeeper but is not in its group/,
    ],
    [
      "flock missing",
      { tools: { setpriv: "/usr/bin/setpriv", pdeathsig: true } },
      "tools",
      "fail",
      /^flock not found/,
    ],
    ["both missing", { tools: { pdeathsig: false } }, "tools", "fail", /^flock and setpriv not found/],
    [
      "old setpriv",
      { tools: { flock: "/usr/bin/flock", setpriv: "/usr/bin/setpriv", pdeathsig: false } },
      "tools",
      "fail",
      /no --pdeathsig/,
    ],
    [
      "credsStore helper missing",
      {
        dockerConfig: {
          file: "/c.json",
          exists: true,
          credsStore: "desktop",
          credHelpers: {},
          auths: [],
          helperFound: { desktop: false },
        },
      },
      "credentials",
      "fail",
      /credsStore "desktop" needs docker-credential-desktop, which is not on PATH/,
    ],
    [
      "credHelpers helper missing",
      {
        dockerConfig: {
          file: "/c.json",
          exists: true,
          credHelpers: { "ghcr.io": "gh" },
          auths: ["docker.io"],
          helperFound: { gh: false },
        },
      },
      "credentials",
      "fail",
      /credHelpers\["ghcr.io"\] needs docker-credential-gh/,
    ],
    [
      "hub auths shadowed by credsStore",
      {
        dockerConfig: {
          file: "/c.json",
          exists: true,
          credsStore: "pass",
          credHelpers: {},
          auths: ["https://index.docker.io/v1/"],
          helperFound: { pass: true },
        },
      },
      "credentials",
      "warn",
      /auths is not used: credsStore "pass" is asked/,
    ],
    [
      "hub auths shadowed by a credHelper",
      {
        dockerConfig: {
          file: "/c.json",
          exists: true,
          credHelpers: { "docker.io": "pass" },
          auths: ["https://index.docker.io/v1/"],
          helperFound: { pass: true },
        },
      },
      "credentials",
      "warn",
      /credHelpers\["docker.io"\] = "pass" is asked instead/,
    ],
    [
      "no hub credential",
      {
        dockerConfig: {
          file: "/c.json",
          exists: false,
          credHelpers: {},
          auths: ["ghcr.io"],
          helperFound: {},
        },
      },
      "credentials",
      "warn",
      /no Docker Hub credential/,
    ],
    [
      "credsStore with its helper, nothing in auths",
      {
        dockerConfig: {
          file: "/c.json",
          exists: true,
          credsStore: "pass",
          credHelpers: {},
          auths: [],
          helperFound: { pass: true },
        },
      },
      "credentials",
      "ok",
      /no conflicts/,
    ],
    [
      "damaged docker config",
      {
        dockerConfig: {
          file: "/c.json",
          exists: true,
          error: "not valid JSON",
          credHelpers: {},
          auths: [],
          helperFound: {},
        },
      },
      "credentials",
      "fail",
      /not valid JSON/,
    ],
    ["a clock before 2025", { now: NOT_BEFORE - 1 }, "clock", "fail", /cannot be right/],
    [
      "no daemon clock",
      { daemon: { endpoint: "unix:///s", error: "ENOENT" } },
      "clock",
      "ok",
      /not available/,
    ],
  ];
  it.each(rows)("%s", (_name, over, id, want, message) => {
    const c = byId(runChecks(facts(over)), id);
    expect(c?.status).toBe(want);
    expect(c?.message).toMatch(message);
    if (want !== "ok") expect(c?.fix).toBeTruthy();
  });

  it.each([
    [0, "ok"],
    [SKEW_WARN_MS, "ok"],
    [SKEW_WARN_MS + 1, "warn"],
    [-(SKEW_WARN_MS + 1), "warn"],
    [SKEW_FAIL_MS, "warn"],
    [SKEW_FAIL_MS + 1, "fail"],
    [-(SKEW_FAIL_MS + 1), "fail"],
  ])("clock skew %i ms (against the middle of the request) is %s", (skew, want) => {
    const d = facts().daemon;
    // Asked at NOW, answered at NOW+200: the daemon read its clock at NOW+100 if in step.
    const f = facts({ daemon: { ...d, systemTime: new Date(NOW + 100 + skew).toISOString() } });
    expect(byId(runChecks(f), "clock")!.status).toBe(want);
  });

  it("says which way the clocks differ", () => {
    const d = facts().daemon;
    const ahead = byId(
      runChecks(facts({ daemon: { ...d, systemTime: new Date(NOW + 100 + 9000).toISOString() } })),
      "clock",
    )!;
    expect(ahead.message).toBe("the daemon's clock is 9.0 s ahead of ours");
    const behind = byId(
      runChecks(facts({ daemon: { ...d, systemTime: new Date(NOW + 100 - 9000).toISOString() } })),
      "clock",
    )!;
    expect(behind.message).toBe("the daemon's clock is 9.0 s behind ours");
  });

  it("no socket check for a tcp daemon; no group check without dirs", () => {
    const s = status(
      facts({
        socket: undefined,
        runDir: { path: "/r", exists: false, writable: true },
        stateDir: { path: "/s", exists: false, writable: true },
      }),
    );
    expect(s["docker-group"]).toBeUndefined();
    expect(s.group).toBeUndefined();
  });

  it("the shared group is the state dir's when the run dir is missing", () => {
    const f = facts({
      runDir: { path: "/r", exists: false, writable: true },
      user: { uid: 1000, name: "ci", groups: [1000, 990], listedIn: [1000, 990] },
    });
    expect(byId(runChecks(f), "group")!.message).toContain("the group of /var/lib/imagekeeper");
  });

  it("a config without a file", () => {
    expect(byId(runChecks(facts({ configPath: undefined })), "config")!.message).toBe(
      "no config file: every key at its default",
    );
  });
});

// nix/module.nix evaluated with nixpkgs' current lib (test/nix/eval.nix: stubbed NixOS options,
// fake pkgs): fast, and fine-grained about the module's own decisions — the units, timer and
// tmpfiles rules it renders; its settings accepted by `imagekeeper config check`; every assertion
// and type refusal; the password nowhere in what it renders. test/nix/nixos.test.ts evaluates the
// same module inside a whole NixOS system. Where nixpkgs comes from: test/nix/support.ts.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NIX_MISSING, REPO, SKIP_NIX, buildBundle, nixData, nixInstantiate } from "./support.js";

const EVAL = path.join(REPO, "test/nix/eval.nix");
const PASSWORD = "dckr_pat_NixEvalDummy-5b1e0c77";
const USERNAME = "ci-bot";

interface Rendered {
  failedAssertions: string[];
  dockerDaemonSettings: Record<string, unknown>;
  services: Record<string, Service>;
  startPreScripts: Record<string, string[]>;
  timers: Record<string, { wantedBy?: string[]; timerConfig: Record<string, unknown> }>;
  tmpfiles: string[];
  etc: Record<string, { source?: { env?: { value?: string }; script?: string; name?: string } }>;
  users: { users: Record<string, { extraGroups: string[] }>; groups: Record<string, unknown> };
  systemPackages: string[];
}
interface Service {
  after: string[];
  wants: string[];
  requires: string[];
  wantedBy: string[];
  partOf: string[];
  path: string[];
  environment: Record<string, string>;
  restartTriggers?: string[];
  restartIfChanged?: boolean;
  unitConfig?: Record<string, unknown>;
  script: string;
  serviceConfig: Record<string, unknown>;
}

/** test/nix/eval.nix with `hostConfig` (a NixOS module, as Nix source); `attr`: one output only. */
function evalNix(hostConfig: string, attr?: string): unknown {
  const r = nixInstantiate([
    "--eval",
    "--strict",
    "--json",
    EVAL,
    ...(attr ? ["-A", attr] : []),
    "--argstr",
    "nixpkgsLib",
    nixData().lib,
    "--arg",
    "hostConfig",
    hostConfig,
  ]);
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** Everything the module renders. Throws with nix's message on error. */
const evaluate = (hostConfig: string) => evalNix(hostConfig) as Rendered;

/** Only the failed assertions: a host whose units cannot be rendered still says why. */
const assertionsOf = (hostConfig: string) => evalNix(hostConfig, "failedAssertions") as string[];

function evalError(hostConfig: string): string {
  try {
    evaluate(hostConfig);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("the evaluation succeeded");
}

const host = (
  extra = "",
  authUsers = '[ "runner" "root" ]',
  passwordFile = '"/run/secrets/dockerhub-pat"',
) => `
  { lib, ... }: {
    virtualisation.docker.enable = true;
    users.users.runner.isNormalUser = true;
    users.users.root = { uid = 0; home = "/root"; group = "root"; };
    services.imagekeeper = {
      enable = true;
      runner.users = [ "runner" ];
      registryAuth."docker.io" = {
        username = "${USERNAME}";
        passwordFile = ${passwordFile};
        users = ${authUsers};
      };
    };
    ${extra}
  }`;

// A runner service as a runner module would define it (a DynamicUser agent, with a group of its
// own already), and the imagekeeper side of it.
const runnerService = (serviceConfig = "MemoryDenyWriteExecute = false;") => `
  systemd.services.woodpecker-agent-exec = {
    path = [ "/nix/store/00000000000000000000000000000000-bash" ];
    serviceConfig = {
      ExecStart = "/nix/store/00000000000000000000000000000000-woodpecker-agent/bin/woodpecker-agent";
      DynamicUser = true;
      SupplementaryGroups = [ "podman" ];
      ${serviceConfig}
    };
  };
  services.imagekeeper.runner.services = [ "woodpecker-agent-exec" ];
`;

describe.skipIf(SKIP_NIX)("NixOS module (evaluated with nixpkgs' lib)", () => {
  let bin: string;
  let work: string;

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), "iknix-"));
    bin = path.join(work, "imagekeeper.mjs");
    buildBundle(bin);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const configCheck = (json: string) => {
    const file = path.join(mkdtempSync(path.join(work, "cfg-")), "config.json");
    writeFileSync(file, json);
    return spawnSync(process.execPath, ["--", bin, "config", "check", "--json", "--config", file], {
      encoding: "utf8",
      env: { ...process.env, IMAGEKEEPER_STATE_DIR: "", IMAGEKEEPER_RUN_DIR: "", IMAGEKEEPER_DOCKER: "" },
    });
  };
  const settingsOf = (r: Rendered) => JSON.parse(r.etc["imagekeeper/config.json"]!.source!.env!.value!);

  it("renders the prune service and timer, hardened, after and requiring docker.service", () => {
    const r = evaluate(host());
    expect(r.failedAssertions).toEqual([]);
    const prune = r.services["imagekeeper-prune"]!;
    expect(prune.after).toContain("docker.service");
    expect(prune.requires).toContain("docker.service");
    expect(prune.restartIfChanged).toBe(false);
    // A prune under way is not stopped because the module was removed (as docker-prune).
    expect(prune.unitConfig).toEqual({ "X-StopOnRemoval": false });
    expect(prune.serviceConfig).toMatchObject({
      Type: "oneshot",
      User: "imagekeeper",
      Group: "imagekeeper",
      SupplementaryGroups: ["docker"],
      ProtectSystem: "strict",
      NoNewPrivileges: true,
      CapabilityBoundingSet: [""],
      MemoryDenyWriteExecute: false,
      // `-`: a missing directory must not keep the unit from starting (226/NAMESPACE).
      ReadWritePaths: ["-/var/lib/imagekeeper", "-/run/imagekeeper"],
    });
    expect(String(prune.serviceConfig.ExecStart)).toMatch(/-imagekeeper-0\.1\.0\/bin\/imagekeeper prune$/);
    // A user namespace would unmap the docker group from the socket's group.
    expect(prune.serviceConfig).not.toHaveProperty("PrivateUsers");
    // Lease liveness is flock(2), so other users' processes may be hidden from the prune.
    expect(prune.serviceConfig.ProtectProc).toBe("invisible");

    expect(r.timers["imagekeeper-prune"]).toEqual({
      description: expect.any(String),
      wantedBy: ["timers.target"],
      timerConfig: { OnCalendar: "hourly", RandomizedDelaySec: "0", Persistent: true },
    });
    // autoPrune's unit names stay autoPrune's.
    expect(Object.keys(r.services).filter((n) => n.includes("docker-prune"))).toEqual([]);
    expect(Object.keys(r.timers)).toEqual(["imagekeeper-prune"]);
  });

  it("takes the timer options named as in nix-gc and autoPrune", () => {
    const r = evaluate(
      host(
        `services.imagekeeper.prune = { dates = "*:0/15"; randomizedDelaySec = "5min"; persistent = false; };`,
      ),
    );
    expect(r.timers["imagekeeper-prune"]!.timerConfig).toEqual({
      OnCalendar: "*:0/15",
      RandomizedDelaySec: "5min",
      Persistent: false,
    });
  });

  it("prune.automatic = false drops the timer and keeps the service", () => {
    const r = evaluate(host(`services.imagekeeper.prune.automatic = false;`));
    expect(r.timers).toEqual({});
    expect(r.services["imagekeeper-prune"]!.serviceConfig.ExecStart).toMatch(/imagekeeper prune$/);
    expect(r.failedAssertions).toEqual([]);
  });

  it("runs imagekeeper watch as a hardened service that follows docker.service", () => {
    const r = evaluate(
      host(`services.imagekeeper.settings.metrics.textfile = "/var/lib/ik-metrics/ik.prom";`),
    );
    const watch = r.services["imagekeeper-watch"]!;
    expect(watch.wantedBy).toEqual(["multi-user.target", "docker.service"]);
    expect(watch.after).toEqual(["docker.service"]);
    expect(watch.wants).toEqual(["docker.service"]);
    expect(watch.partOf).toEqual(["docker.service"]);
    expect(watch.serviceConfig).toMatchObject({
      Type: "exec",
      Restart: "on-failure",
      RestartSec: "5s",
      User: "imagekeeper",
      Group: "imagekeeper",
      SupplementaryGroups: ["docker"],
      UMask: "0007",
      ProtectSystem: "strict",
      PrivateNetwork: true,
      RestrictAddressFamilies: ["AF_UNIX"],
      MemoryDenyWriteExecute: false,
      // The ledger and the metrics textfile; no run dir: it takes no leases.
      ReadWritePaths: ["-/var/lib/imagekeeper", "-/var/lib/ik-metrics"],
    });
    expect(String(watch.serviceConfig.ExecStart)).toMatch(/\/bin\/imagekeeper watch$/);
    // Same user and group as the prune, so the ledger files they share stay theirs.
    const prune = r.services["imagekeeper-prune"]!.serviceConfig;
    expect([watch.serviceConfig.User, watch.serviceConfig.Group]).toEqual([prune.User, prune.Group]);
    // Restarted on a switch that changes it, unlike the prune.
    expect(watch.restartIfChanged).toBeUndefined();

    const off = evaluate(host(`services.imagekeeper.watch.enable = false;`));
    expect(Object.keys(off.services)).not.toContain("imagekeeper-watch");
    expect(Object.keys(off.services)).toContain("imagekeeper-prune");
  });

  it("renders one registry-auth unit per user, reading the secret through LoadCredential", () => {
    const r = evaluate(host());
    for (const [user, home] of [
      ["runner", "/home/runner"],
      ["root", "/root"],
    ] as const) {
      const unit = r.services[`imagekeeper-registry-auth-${user}`]!;
      expect(unit.wantedBy).toEqual(["multi-user.target"]);
      // BindPaths needs ~/.docker, which tmpfiles creates.
      expect(unit.after).toEqual(["systemd-tmpfiles-setup.service", "systemd-tmpfiles-resetup.service"]);
      expect(unit.restartTriggers?.length).toBeGreaterThan(0);
      expect(unit.serviceConfig).toMatchObject({
        Type: "oneshot",
        RemainAfterExit: true,
        User: user,
        LoadCredential: ["registry-docker.io:/run/secrets/dockerhub-pat"],
        ProtectHome: "tmpfs",
        BindPaths: [`${home}/.docker`],
      });
      expect(unit.script).toContain(" auth login ");
      expect(unit.script).toContain('--password-file "$CREDENTIALS_DIRECTORY"/registry-docker.io');
      expect(unit.script).toContain(`--docker-config ${home}/.docker`);
      expect(unit.script).toContain(`--username ${USERNAME}`);
      // It would delete the IPC objects of the user's live CI jobs whenever the unit stops.
      expect(unit.serviceConfig).not.toHaveProperty("RemoveIPC");
    }
  });

  it("escapes registry names into credential IDs and % in paths", () => {
    const r = evaluate(
      host(
        `services.imagekeeper.registryAuth."127.0.0.1:5000" = { username = "u"; passwordFile = "/run/keys/50%-pat"; users = [ "runner" ]; };`,
      ),
    );
    const unit = r.services["imagekeeper-registry-auth-runner"]!;
    expect(unit.serviceConfig.LoadCredential).toEqual([
      "registry-127.0.0.1_5000:/run/keys/50%%-pat",
      "registry-docker.io:/run/secrets/dockerhub-pat",
    ]);
    expect(unit.script).toContain('"$CREDENTIALS_DIRECTORY"/registry-127.0.0.1_5000');
    expect(r.failedAssertions).toEqual([]);
  });

  it("asserts that two registries of one unit do not share a credential ID", () => {
    const clash = `services.imagekeeper.registryAuth = {
      "host:5000" = { username = "u"; passwordFile = "/run/secrets/a"; users = [ "runner" ]; };
      "host_5000" = { username = "v"; passwordFile = "/run/secrets/b"; users = [ "runner" ]; };
    };`;
    const msgs = evaluate(host(clash)).failedAssertions.join("\n");
    expect(msgs).toContain('"host:5000", "host_5000"');
    expect(msgs).toContain("for user runner");
    expect(msgs).toContain("same systemd credential ID");
    // One each for two different users: no clash within a unit.
    const apart = `services.imagekeeper.registryAuth = {
      "host:5000" = { username = "u"; passwordFile = "/run/secrets/a"; users = [ "runner" ]; };
      "host_5000" = { username = "v"; passwordFile = "/run/secrets/b"; users = [ "root" ]; };
    };`;
    expect(evaluate(host(apart)).failedAssertions).toEqual([]);
  });

  it("shares the run-lease and state directories with the runner users through tmpfiles", () => {
    const r = evaluate(host());
    expect(r.tmpfiles).toEqual([
      // Sticky as well as setgid: a runner may remove its own lease files only.
      "d /run/imagekeeper 3770 imagekeeper imagekeeper - -",
      "f /run/imagekeeper/lease.lock 0440 root imagekeeper - -",
      "f /run/imagekeeper/drain.lock 0440 root imagekeeper - -",
      "d /var/lib/imagekeeper 2770 imagekeeper imagekeeper - -",
      "d /home/runner/.docker 0700 runner users - -",
      "d /root/.docker 0700 root root - -",
    ]);
    expect(r.users.users.runner!.extraGroups.sort()).toEqual(["docker", "imagekeeper"]);
    expect(r.users.groups).toHaveProperty("imagekeeper");
    expect(r.systemPackages).toEqual([expect.stringMatching(/-imagekeeper-0\.1\.0$/)]);
    // No RuntimeDirectory: it would vanish when a oneshot stops, taking live leases with it.
    for (const s of Object.values(r.services)) expect(s.serviceConfig).not.toHaveProperty("RuntimeDirectory");
  });

  it("follows settings.runDir and settings.stateDir", () => {
    const r = evaluate(
      host(`services.imagekeeper.settings = { runDir = "/run/ik"; stateDir = "/srv/ik"; };`),
    );
    expect(r.tmpfiles.slice(0, 4)).toEqual([
      "d /run/ik 3770 imagekeeper imagekeeper - -",
      "f /run/ik/lease.lock 0440 root imagekeeper - -",
      "f /run/ik/drain.lock 0440 root imagekeeper - -",
      "d /srv/ik 2770 imagekeeper imagekeeper - -",
    ]);
    expect(r.services["imagekeeper-prune"]!.serviceConfig.ReadWritePaths).toEqual(["-/srv/ik", "-/run/ik"]);
  });

  it("creates the metrics textfile's directory for the group, readable by node_exporter", () => {
    const r = evaluate(
      host(
        `services.imagekeeper.settings.metrics.textfile = "/var/lib/prometheus-node-exporter-text/ik.prom";`,
      ),
    );
    expect(r.failedAssertions).toEqual([]);
    expect(r.tmpfiles).toContain("d /var/lib/prometheus-node-exporter-text 2775 imagekeeper imagekeeper - -");
    expect(r.services["imagekeeper-prune"]!.serviceConfig.ReadWritePaths).toEqual([
      "-/var/lib/imagekeeper",
      "-/run/imagekeeper",
      "-/var/lib/prometheus-node-exporter-text",
    ]);
  });

  it.each([
    ["/var/lib/imagekeeper.prom", "is a system directory"],
    ["/ik.prom", "is a system directory"],
    ["/run/ik.prom", "is a system directory"],
    ["/tmp/metrics/ik.prom", "private /tmp"],
    ["/var/tmp/ik.prom", "private /tmp"],
    ["/nix/store/ik.prom", "store is read-only"],
    ["/home/ops/metrics/ik.prom", "ProtectHome"],
    ["/root/metrics/ik.prom", "ProtectHome"],
    ["/var/lib/imagekeeper/metrics/ik.prom", "node_exporter cannot read"],
    ["/run/imagekeeper/ik.prom", "node_exporter cannot read"],
    ["/var/lib/../lib/x/ik.prom", "not a normalised absolute path"],
    ["metrics/ik.prom", "not a normalised absolute path"],
  ])("refuses a metrics textfile at %s, whose directory is not the module's to own", (file, why) => {
    const r = evaluate(host(`services.imagekeeper.settings.metrics.textfile = "${file}";`));
    const msg = r.failedAssertions.join("\n");
    expect(msg).toContain("services.imagekeeper.settings.metrics.textfile");
    expect(msg).toContain(why);
  });

  it("refuses a metrics directory another tmpfiles rule sets up, naming the rule", () => {
    const r = evaluate(
      host(`
        services.imagekeeper.settings.metrics.textfile = "/var/lib/node-exporter/ik.prom";
        systemd.tmpfiles.rules = [ "d   /var/lib/node-exporter  0750 node-exporter node-exporter - -" ];
      `),
    );
    expect(r.failedAssertions.join("\n")).toContain(
      "is also set up by another systemd.tmpfiles rule (d   /var/lib/node-exporter  0750",
    );
    // A rule for another path is no conflict.
    const other = evaluate(
      host(`
        services.imagekeeper.settings.metrics.textfile = "/var/lib/node-exporter/ik.prom";
        systemd.tmpfiles.rules = [ "d /var/lib/node-exporter-other 0750 root root - -" ];
      `),
    );
    expect(other.failedAssertions).toEqual([]);
  });

  it("sets dockerd's max-concurrent-downloads (6) by default, and prepull's concurrency to match", () => {
    const r = evaluate(host());
    expect(r.dockerDaemonSettings).toEqual({ "max-concurrent-downloads": 6 });
    expect(settingsOf(r).prepull.concurrency).toBe(6);
  });

  it.each([
    ["the option", `services.imagekeeper.docker.maxConcurrentDownloads = 10;`, 10, 10],
    // The operator's own daemon setting wins over the module's mkDefault; prepull follows it.
    [
      "the operator's daemon setting",
      `virtualisation.docker.daemon.settings."max-concurrent-downloads" = 4;`,
      4,
      4,
    ],
    // Left alone: dockerd's default, 3, is what prepull can use.
    ["null", `services.imagekeeper.docker.maxConcurrentDownloads = null;`, undefined, 3],
    // The CLI takes at most 32 pulls at once.
    ["a large daemon setting", `services.imagekeeper.docker.maxConcurrentDownloads = 50;`, 50, 32],
    // An explicit concurrency wins over the default.
    ["settings.prepull.concurrency", `services.imagekeeper.settings.prepull.concurrency = 2;`, 6, 2],
  ])("max-concurrent-downloads from %s", (_, extra, daemon, concurrency) => {
    const r = evaluate(host(extra));
    expect(r.dockerDaemonSettings["max-concurrent-downloads"]).toBe(daemon);
    expect(settingsOf(r).prepull.concurrency).toBe(concurrency);
  });

  it("renders settings that `imagekeeper config check` accepts, with the CLI's own defaults", () => {
    const r = evaluate(host());
    const source = r.etc["imagekeeper/config.json"]!.source!;
    // Validated when the system is built, as renovate.nix validates its config.
    expect(source.script).toContain("imagekeeper config check --config $out");
    const rendered = configCheck(source.env!.value!);
    expect(rendered.stderr).toBe("");
    expect(rendered.status).toBe(0);
    // Every default the module writes is the CLI's default, but the concurrency, which follows
    // the daemon (6 here, the CLI's own default being dockerd's 3).
    const empty = JSON.parse(configCheck("{}").stdout).config;
    const got = JSON.parse(rendered.stdout).config;
    expect(got.prepull.concurrency).toBe(6);
    expect({ ...got, prepull: { ...got.prepull, concurrency: empty.prepull.concurrency } }).toEqual(empty);
  });

  it("declares an option for every key of the CLI's config (so each is documented and typed)", () => {
    // The rendered settings hold exactly the declared options' defaults: their key paths must be
    // the CLI's (a key the CLI gains without an option here would pass only as freeform).
    const paths = (o: unknown, at = ""): string[] =>
      o !== null && typeof o === "object" && !Array.isArray(o)
        ? Object.entries(o).flatMap(([k, v]) => paths(v, at ? `${at}.${k}` : k))
        : [at];
    const declared = paths(settingsOf(evaluate(host()))).sort();
    const cli = paths(JSON.parse(configCheck("{}").stdout).config).sort();
    expect(declared).toEqual(cli);
  });

  it("validateSettings = false renders the settings without running the CLI (cross builds)", () => {
    const r = evaluate(host(`services.imagekeeper.validateSettings = false;`));
    const source = r.etc["imagekeeper/config.json"]!.source!;
    expect(source.script).toBe("generated"); // fake pkgs.formats.json's generate
    expect(JSON.stringify(source)).not.toContain("config check");
    expect(settingsOf(r).prepull.concurrency).toBe(6);
  });

  it("passes set and freeform settings through; the CLI refuses a typo at build time", () => {
    const r = evaluate(
      host(`services.imagekeeper.settings = {
        prune = { highWatermarkPercent = 80; lowWatermarkPercent = 70; window = "0 2 * * *"; keep = [ "traefik:*" ]; };
        metrics.textfile = "/var/lib/node-exporter/imagekeeper.prom";
      };`),
    );
    const ok = configCheck(r.etc["imagekeeper/config.json"]!.source!.env!.value!);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).config.prune).toMatchObject({
      highWatermarkPercent: 80,
      window: "0 2 * * *",
      keep: ["traefik:*"],
    });
    expect(r.services["imagekeeper-prune"]!.serviceConfig.ReadWritePaths).toContain(
      "-/var/lib/node-exporter",
    );

    const typo = evaluate(host(`services.imagekeeper.settings.prune.highWatermark = 80;`));
    const bad = configCheck(typo.etc["imagekeeper/config.json"]!.source!.env!.value!);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("highWatermark");
  });

  it("refuses to run beside virtualisation.docker.autoPrune, saying what replaces it", () => {
    const r = evaluate(host(`virtualisation.docker.autoPrune.enable = true;`));
    expect(r.failedAssertions).toHaveLength(1);
    const msg = r.failedAssertions[0]!;
    expect(msg).toContain("virtualisation.docker.autoPrune.enable = false");
    expect(msg).toContain("imagekeeper-prune.timer");
    expect(msg).toContain("build time");
  });

  it("asserts docker is enabled and the users exist with a home", () => {
    const failed = assertionsOf(`{ ... }: {
      services.imagekeeper = {
        enable = true;
        runner.users = [ "ghost" ];
        registryAuth."docker.io" = { username = "u"; passwordFile = "/run/secrets/p"; users = [ "svc" "spook" ]; };
      };
      users.users.svc.isSystemUser = true;
    }`);
    const msgs = failed.join("\n");
    expect(msgs).toContain("virtualisation.docker.enable = true");
    expect(msgs).toContain('user "ghost" (runner.users or registryAuth.*.users) is not declared');
    expect(msgs).toContain('user "spook" (runner.users or registryAuth.*.users) is not declared');
    expect(msgs).toContain('user "svc" has no home directory');
    // Each once.
    expect(failed.filter((m) => m.includes('"spook"'))).toHaveLength(1);
  });

  it("gives its own message for an undeclared user even when only the units are read", () => {
    // Reading systemd.services (or the tmpfiles rules) needs the user's home before any
    // assertion is looked at: the module's own reason, not "attribute 'ghost' missing".
    const e = evalError(host("", '[ "ghost" ]'));
    expect(e).toContain('services.imagekeeper: user "ghost"');
    expect(e).not.toContain("attribute 'ghost' missing");
  });

  it.each([
    ["a ./file literal", "./dockerhub-pat"],
    ["a file copied into the store by interpolation", '"${builtins.toFile "dockerhub-pat" "x"}"'],
    ["a store path", '"/nix/store/0d1f9k5vy1qzcd3rhcsc0fxs0lf6s6y6-dockerhub-pat"'],
    ["a bare store name", '"/nix/store/dockerhub-pat"'],
    ["the store itself", '"/nix/store"'],
    ["a relative path", '"secrets/dockerhub-pat"'],
  ])("refuses %s as passwordFile, by its type", (_, value) => {
    const e = evalError(host("", '[ "runner" ]', value));
    expect(e).toContain("passwordFile");
    expect(e).toContain("absolute path outside the Nix store");
  });

  it("takes a path outside the store that merely looks like one", () => {
    const r = evaluate(host("", '[ "runner" ]', '"/nix/storage/dockerhub-pat"'));
    expect(r.failedAssertions).toEqual([]);
  });

  it("never puts the password into anything it renders", () => {
    const dir = mkdtempSync(path.join(work, "secret-"));
    const file = path.join(dir, "dockerhub-pat");
    writeFileSync(file, `${PASSWORD}\n`, { mode: 0o600 });
    const r = evaluate(
      host(
        `services.imagekeeper.registryAuth."127.0.0.1:5000" = { username = "u"; passwordFile = "${file}"; users = [ "runner" ]; services = [ "woodpecker-agent-exec" ]; };
         ${runnerService()}`,
        '[ "runner" "root" ]',
        `"${file}"`,
      ),
    );
    const all = JSON.stringify(r);
    // The path is there (the units reference it), the content is not, in any encoding docker uses.
    expect(all).toContain(file);
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(Buffer.from(`${USERNAME}:${PASSWORD}`).toString("base64"));
    expect(all).not.toContain(Buffer.from(PASSWORD).toString("base64"));
  });

  it("gives a runner service the groups, the shared directories and imagekeeper on PATH", () => {
    const r = evaluate(
      host(`${runnerService()}
        services.imagekeeper.settings.metrics.textfile = "/var/lib/ik-metrics/ik.prom";`),
    );
    expect(r.failedAssertions).toEqual([]);
    const agent = r.services["woodpecker-agent-exec"]!;
    // Added to the runner module's own lists, not replacing them.
    expect((agent.serviceConfig.SupplementaryGroups as string[]).sort()).toEqual([
      "docker",
      "imagekeeper",
      "podman",
    ]);
    expect(agent.serviceConfig.ReadWritePaths).toEqual([
      "-/var/lib/imagekeeper",
      "-/run/imagekeeper",
      "-/var/lib/ik-metrics",
    ]);
    expect(agent.path).toHaveLength(2);
    expect(agent.path).toContain("/nix/store/00000000000000000000000000000000-bash");
    expect(agent.path).toContainEqual(expect.stringMatching(/-imagekeeper-0\.1\.0$/));
    expect(agent.after).toEqual(["docker.service"]);
    expect(agent.serviceConfig.DynamicUser).toBe(true);
    // Without registryAuth.*.services, no credential and no DOCKER_CONFIG.
    expect(agent.environment).toEqual({});
    expect(agent.serviceConfig).not.toHaveProperty("LoadCredential");
  });

  it("writes a runner service's docker config when it starts, as its own user, from a credential", () => {
    const r = evaluate(
      host(`${runnerService()}
        services.imagekeeper.registryAuth."docker.io".services = [ "woodpecker-agent-exec" ];
        services.imagekeeper.registryAuth."registry.example.org:5000" = {
          username = "bot"; passwordFile = "/run/secrets/example"; services = [ "woodpecker-agent-exec" ]; };`),
    );
    expect(r.failedAssertions).toEqual([]);
    const agent = r.services["woodpecker-agent-exec"]!;
    const dockerConfig = "/run/imagekeeper-docker/woodpecker-agent-exec/docker";
    expect(agent.environment).toEqual({ DOCKER_CONFIG: dockerConfig });
    expect(agent.serviceConfig).toMatchObject({
      LoadCredential: [
        "imagekeeper-registry-docker.io:/run/secrets/dockerhub-pat",
        "imagekeeper-registry-registry.example.org_5000:/run/secrets/example",
      ],
      RuntimeDirectory: ["imagekeeper-docker/woodpecker-agent-exec"],
    });
    const [login] = r.startPreScripts["woodpecker-agent-exec"]!;
    expect(login).toContain("set -eu");
    for (const [registry, user, id] of [
      ["docker.io", USERNAME, "imagekeeper-registry-docker.io"],
      ["registry.example.org:5000", "bot", "imagekeeper-registry-registry.example.org_5000"],
    ])
      expect(login).toContain(
        ` auth login \\\n  --registry ${registry} \\\n  --username ${user} \\\n  --password-file "$CREDENTIALS_DIRECTORY"/${id} \\\n  --docker-config ${dockerConfig}\n`,
      );
    // The users' own units are unchanged, and no unit of ours runs for the service.
    expect(
      Object.keys(r.services)
        .filter((n) => n.startsWith("imagekeeper-registry-auth-"))
        .sort(),
    ).toEqual(["imagekeeper-registry-auth-root", "imagekeeper-registry-auth-runner"]);
  });

  it.each([
    [
      "a credential service that is not a runner service",
      `services.imagekeeper.registryAuth."docker.io".services = [ "ci-agent" ];
       systemd.services.ci-agent.serviceConfig.ExecStart = "/bin/agent";`,
      'the service "ci-agent" (registryAuth.*.services) is not',
    ],
    [
      "a runner service no module defines (a typo)",
      `services.imagekeeper.runner.services = [ "woodpecker-agent-ci" ];`,
      'systemd.services."woodpecker-agent-ci" has no ExecStart or',
    ],
    [
      "a runner service that forbids Node's JIT",
      runnerService("MemoryDenyWriteExecute = true;"),
      "MemoryDenyWriteExecute = lib.mkForce false",
    ],
  ])("refuses %s", (_, extra, message) => {
    const msgs = evaluate(host(extra)).failedAssertions.join("\n");
    expect(msgs.replace(/\s+/g, " ")).toContain(message);
  });

  it("a runner service with a script and no ExecStart is defined", () => {
    const r = evaluate(
      host(`systemd.services.ci-agent.script = "exec agent";
            services.imagekeeper.runner.services = [ "ci-agent" ];`),
    );
    expect(r.failedAssertions).toEqual([]);
  });

  it("renders nothing when disabled", () => {
    const r = evaluate(`{ ... }: { services.imagekeeper.registryAuth."docker.io" = {
      username = "u"; passwordFile = "/run/secrets/p"; users = [ "runner" ]; }; }`);
    expect(r).toMatchObject({
      services: {},
      timers: {},
      tmpfiles: [],
      etc: {},
      failedAssertions: [],
      dockerDaemonSettings: {},
    });
  });
});

describe("NixOS module tests (nixpkgs' lib)", () => {
  // Skipped (with the reason) where the Nix data is missing; where it is required (CI) and missing,
  // nixData() throws the reason. Otherwise it checks what the tests above rely on: the lib found
  // evaluates as nixpkgs' lib, not only that a path was found.
  it("ran, or said why not", (ctx) => {
    if (SKIP_NIX) ctx.skip(NIX_MISSING);
    const lib = path.join(nixData().lib, "lib");
    const r = nixInstantiate(["--eval", "--expr", `(import ${JSON.stringify(lib)}).version`]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toMatch(/^"\d\d\.\d\d/);
  });
});

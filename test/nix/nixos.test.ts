// nix/module.nix inside a whole NixOS module system: nixpkgs 20.09's eval-config.nix with every
// NixOS module, a container-style host, the 20.09 shims of test/nix/nixos/compat.nix and, for the
// runner modules 20.09 predates, stand-ins modelled on the current nixpkgs modules
// (test/nix/nixos/standins/). Each host of examples/nixos/ (the runner recipes docs/nixos.md shows)
// evaluates to a toplevel derivation with no failed assertion, with its units rendered as
// intended; each bad configuration is refused with the module's own message, also when only the
// units are read. Where nixpkgs comes from: test/nix/support.ts.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NIX_MISSING, REPO, SKIP_NIX, directives, nixData, nixInstantiate } from "./support.js";

const EVAL = path.join(REPO, "test/nix/nixos/eval.nix");
const EXAMPLES = path.join(REPO, "examples/nixos");

interface Report {
  failedAssertions: string[];
  drvPath: string;
  units: Record<string, { text: string; wantedBy: string[] }>;
  tmpfiles: string[];
  dockerDaemonSettings: Record<string, unknown>;
  users: Record<string, { extraGroups: string[]; home: string; group: string }>;
  groups: string[];
  systemPackages: string[];
  settings: { prepull: { concurrency: number }; metrics: { textfile: string | null } } | null;
  settingsBuilder: string | null;
}

/** nix-instantiate on a host file; `attr` is one of test/nix/nixos/eval.nix's outputs. */
function nixos(attr: "report" | "assertions" | "services" | "tmpfiles", hostFile: string) {
  return nixInstantiate([
    "--eval",
    "--strict",
    "--json",
    EVAL,
    "-A",
    attr,
    "--argstr",
    "nixos",
    nixData().nixos,
    "--arg",
    "host",
    hostFile,
  ]);
}

const reports = new Map<string, Report>();
/** The report of a host, evaluated once per file. */
function report(hostFile: string): Report {
  let got = reports.get(hostFile);
  if (!got) {
    const r = nixos("report", hostFile);
    if (r.status !== 0) throw new Error(r.stderr);
    got = JSON.parse(r.stdout) as Report;
    reports.set(hostFile, got);
  }
  return got;
}

function assertions(hostFile: string): string {
  const r = nixos("assertions", hostFile);
  if (r.status !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as string[]).join("\n");
}

/** The error of an evaluation that must fail, on one line. */
function refusal(attr: "services" | "tmpfiles" | "report" | "assertions", hostFile: string): string {
  const r = nixos(attr, hostFile);
  if (r.status === 0) throw new Error(`evaluating ${attr} succeeded`);
  return r.stderr.replace(/\s+/g, " ");
}

const unit = (r: Report, name: string) => {
  const u = r.units[name];
  if (!u) throw new Error(`no unit ${name} (have: ${Object.keys(r.units).join(", ")})`);
  return directives(u.text);
};

describe.skipIf(SKIP_NIX)("the NixOS module in a whole NixOS system (nixpkgs 20.09)", () => {
  let dir: string;
  /** A host file of its own directory (so that `./hub-pat` beside it is a file). */
  const host = (source: string) => {
    const d = mkdtempSync(path.join(dir, "host-"));
    writeFileSync(path.join(d, "hub-pat"), "dckr_pat_never-read-by-the-test\n");
    writeFileSync(path.join(d, "host.nix"), source);
    return path.join(d, "host.nix");
  };
  // The shared part of the examples, with a user and the module's minimum.
  const base = (extra: string, authUsers = '[ "runner" ]') =>
    host(`{ lib, pkgs, ... }: {
      imports = [ ${EXAMPLES}/imagekeeper.nix ];
      users.users.runner.isNormalUser = true;
      services.imagekeeper.runner.users = [ "runner" ];
      services.imagekeeper.registryAuth."docker.io".users = ${authUsers};
      ${extra}
    }`);

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "iknixos-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe("the plain runner (examples/nixos/plain.nix)", () => {
    let r: Report;
    beforeAll(() => {
      r = report(path.join(EXAMPLES, "plain.nix"));
    });

    it("evaluates to a toplevel derivation with no failed assertion", () => {
      expect(r.failedAssertions).toEqual([]);
      expect(r.drvPath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixos-system-ci-.*\.drv$/);
    });

    it("renders imagekeeper-prune.service: docker's, hardened, started by its timer only", () => {
      const s = unit(r, "imagekeeper-prune.service");
      expect(s.ExecStart).toEqual([
        expect.stringMatching(/^\/nix\/store\/.*-imagekeeper-0\.1\.0\/bin\/imagekeeper prune$/),
      ]);
      expect(s.After).toEqual(["docker.service"]);
      expect(s.Requires).toEqual(["docker.service"]);
      expect(s["X-RestartIfChanged"]).toEqual(["false"]);
      expect(s["X-StopOnRemoval"]).toEqual(["false"]);
      expect(s).toMatchObject({
        Type: ["oneshot"],
        User: ["imagekeeper"],
        Group: ["imagekeeper"],
        SupplementaryGroups: ["docker"],
        UMask: ["0007"],
        ProtectSystem: ["strict"],
        ProtectHome: ["true"],
        PrivateNetwork: ["true"],
        RestrictAddressFamilies: ["AF_UNIX"],
        MemoryDenyWriteExecute: ["false"],
        NoNewPrivileges: ["true"],
      });
      expect(s).not.toHaveProperty("PrivateUsers");
      // Each writable path may be missing without the unit failing with 226/NAMESPACE.
      expect(s.ReadWritePaths).toEqual([
        "-/var/lib/imagekeeper",
        "-/run/imagekeeper",
        "-/var/lib/imagekeeper-metrics",
      ]);
      expect(s.Documentation).toEqual([
        expect.stringMatching(
          /^man:imagekeeper\(1\) file:\/\/\/nix\/store\/.*-imagekeeper-0\.1\.0\/share\/doc\/imagekeeper\/nixos\.md$/,
        ),
      ]);
      expect(r.units["imagekeeper-prune.service"]!.wantedBy).toEqual([]);
    });

    it("renders imagekeeper-prune.timer from prune.dates", () => {
      expect(unit(r, "imagekeeper-prune.timer")).toMatchObject({
        OnCalendar: ["*:0/15"],
        RandomizedDelaySec: ["1min"],
        Persistent: ["true"],
      });
      expect(r.units["imagekeeper-prune.timer"]!.wantedBy).toEqual(["timers.target"]);
    });

    it("renders imagekeeper-watch.service: restarted on failure, stopped and started with docker", () => {
      const s = unit(r, "imagekeeper-watch.service");
      expect(s.ExecStart).toEqual([expect.stringMatching(/\/bin\/imagekeeper watch$/)]);
      expect(s).toMatchObject({
        Type: ["exec"],
        Restart: ["on-failure"],
        RestartSec: ["5s"],
        After: ["docker.service"],
        Wants: ["docker.service"],
        PartOf: ["docker.service"],
        User: ["imagekeeper"],
        Group: ["imagekeeper"],
        SupplementaryGroups: ["docker"],
        ProtectSystem: ["strict"],
        // The ledger and the metrics textfile; no lease, so no run dir.
        ReadWritePaths: ["-/var/lib/imagekeeper", "-/var/lib/imagekeeper-metrics"],
      });
      expect(r.units["imagekeeper-watch.service"]!.wantedBy.sort()).toEqual([
        "docker.service",
        "multi-user.target",
      ]);
    });

    it("renders the runner's credential unit: after tmpfiles made ~/.docker, from LoadCredential", () => {
      const s = unit(r, "imagekeeper-registry-auth-runner.service");
      expect(s.After).toEqual(["systemd-tmpfiles-setup.service systemd-tmpfiles-resetup.service"]);
      expect(s).toMatchObject({
        Type: ["oneshot"],
        RemainAfterExit: ["true"],
        User: ["runner"],
        LoadCredential: ["registry-docker.io:/run/secrets/dockerhub-pat"],
        ProtectHome: ["tmpfs"],
        BindPaths: ["/home/runner/.docker"],
        UMask: ["0077"],
      });
      expect(s["X-Restart-Triggers"]![0]).toContain('"passwordFile":"/run/secrets/dockerhub-pat"');
      expect(r.units["imagekeeper-registry-auth-runner.service"]!.wantedBy).toEqual(["multi-user.target"]);
    });

    it("gives the runner's own service imagekeeper, the groups and the directories", () => {
      const s = unit(r, "cc-ci-runner.service");
      expect(s.After![0]!.split(" ")).toEqual(
        expect.arrayContaining(["imagekeeper-registry-auth-runner.service", "docker.service"]),
      );
      expect(s.Environment!.find((e) => e.startsWith('"PATH='))).toMatch(/-imagekeeper-0\.1\.0\/bin:/);
      expect(s.SupplementaryGroups).toEqual(["docker", "imagekeeper"]);
      expect(s.User).toEqual(["runner"]);
      expect(r.users.runner!.extraGroups.sort()).toEqual(["docker", "imagekeeper"]);
      expect(r.groups).toContain("imagekeeper");
      expect(r.systemPackages).toContain("imagekeeper-0.1.0");
    });

    it("creates the run, state, metrics and ~/.docker directories through tmpfiles", () => {
      expect(r.tmpfiles).toEqual(
        expect.arrayContaining([
          "d /run/imagekeeper 3770 imagekeeper imagekeeper - -",
          "f /run/imagekeeper/lease.lock 0440 root imagekeeper - -",
          "f /run/imagekeeper/drain.lock 0440 root imagekeeper - -",
          "d /var/lib/imagekeeper 2770 imagekeeper imagekeeper - -",
          "d /var/lib/imagekeeper-metrics 2775 imagekeeper imagekeeper - -",
          "d /home/runner/.docker 0700 runner users - -",
        ]),
      );
    });

    it("sets dockerd's max-concurrent-downloads to 6 and prepull's concurrency with it", () => {
      expect(r.dockerDaemonSettings).toEqual({ "max-concurrent-downloads": 6 });
      expect(r.settings!.prepull.concurrency).toBe(6);
      expect(r.settings!.metrics.textfile).toBe("/var/lib/imagekeeper-metrics/imagekeeper.prom");
      expect(r.settingsBuilder).toContain("imagekeeper config check --config $out");
    });
  });

  // The runner recipes on DynamicUser runner modules: what each unit needs for its jobs to call
  // imagekeeper prepull and run with the PAT, added to the runner module's own unit.
  describe.each([
    ["woodpecker.nix", "woodpecker-agent-exec"],
    ["forgejo-runner.nix", "gitea-runner-ci"],
    ["github-runners.nix", "github-runner-ci"],
  ])("the runner recipe examples/nixos/%s", (file, service) => {
    let r: Report;
    let s: Record<string, string[]>;
    beforeAll(() => {
      r = report(path.join(EXAMPLES, file));
      s = unit(r, `${service}.service`);
    });

    it("evaluates to a toplevel derivation with no failed assertion", () => {
      expect(r.failedAssertions).toEqual([]);
      expect(r.drvPath).toMatch(/\.drv$/);
    });

    it("keeps the runner's DynamicUser and adds the docker and imagekeeper groups to it", () => {
      expect(s.DynamicUser).toEqual(["true"]);
      expect(s.SupplementaryGroups).toEqual(expect.arrayContaining(["docker", "imagekeeper"]));
      expect(s).not.toHaveProperty("User", ["runner"]);
    });

    it("lets its jobs write the run, state and metrics directories, and find imagekeeper", () => {
      expect(s.ReadWritePaths).toEqual(
        expect.arrayContaining([
          "-/run/imagekeeper",
          "-/var/lib/imagekeeper",
          "-/var/lib/imagekeeper-metrics",
        ]),
      );
      expect(s.Environment!.find((e) => e.startsWith('"PATH='))).toMatch(/-imagekeeper-0\.1\.0\/bin:/);
      expect(s.After![0]!.split(" ")).toContain("docker.service");
      expect(s.MemoryDenyWriteExecute ?? ["false"]).toEqual(["false"]);
    });

    it("writes the PAT into a docker config of its own when it starts, and points DOCKER_CONFIG at it", () => {
      expect(s.Environment).toContain(`"DOCKER_CONFIG=/run/imagekeeper-docker/${service}/docker"`);
      expect(s.LoadCredential).toEqual(["imagekeeper-registry-docker.io:/run/secrets/dockerhub-pat"]);
      expect(s.RuntimeDirectory).toContain(`imagekeeper-docker/${service}`);
      expect(s.ExecStartPre).toContainEqual(
        expect.stringMatching(new RegExp(`^/nix/store/[0-9a-z]{32}-imagekeeper-registry-login-${service}$`)),
      );
      // No unit of ours runs as a user for it.
      expect(Object.keys(r.units).filter((n) => n.startsWith("imagekeeper-registry-auth-"))).toEqual([]);
    });
  });

  it("keeps the runner module's own hardening (Woodpecker: PrivateUsers, ProtectSystem)", () => {
    const s = unit(report(path.join(EXAMPLES, "woodpecker.nix")), "woodpecker-agent-exec.service");
    expect(s).toMatchObject({ PrivateUsers: ["true"], ProtectSystem: ["strict"], Restart: ["on-failure"] });
    expect(s.BindReadOnlyPaths).toContain("-/etc/resolv.conf");
  });

  it("refuses a Woodpecker agent that forbids Node's JIT, saying how to allow it", () => {
    const h = host(`{ lib, ... }: {
      imports = [ ${EXAMPLES}/woodpecker.nix ];
      systemd.services.woodpecker-agent-exec.serviceConfig.MemoryDenyWriteExecute = lib.mkOverride 10 true;
    }`);
    expect(assertions(h)).toContain(
      'systemd.services."woodpecker-agent-exec".serviceConfig.MemoryDenyWriteExecute = lib.mkForce false;',
    );
  });

  // Fault 1: an undeclared user crashed on `attribute 'ghost' missing` wherever the units were
  // read before the assertions.
  describe("a credential user that is not declared", () => {
    let h: string;
    beforeAll(() => {
      h = base("", '[ "ghost" ]');
    });
    it.each(["services", "tmpfiles", "report"] as const)(
      "gives the module's own message when %s is read",
      (attr) => {
        const e = refusal(attr, h);
        expect(e).toContain(
          'services.imagekeeper: user "ghost" (runner.users or registryAuth.*.users) is not declared',
        );
        expect(e).not.toContain("attribute 'ghost' missing");
      },
    );
    it("gives it when the assertions are read, too", () => {
      // NixOS's own assertions read the services (systemd.nix): the same message, thrown.
      expect(refusal("assertions", h)).toContain('services.imagekeeper: user "ghost"');
    });
  });

  it("gives the module's own message for a user without a home when only the units are read", () => {
    const h = base(`users.users.ci-bot = { isSystemUser = true; group = "nogroup"; };`, '[ "ci-bot" ]');
    expect(refusal("services", h)).toContain('user "ci-bot" has no home directory (home = /var/empty)');
  });

  // Fault 4: a secret written as a path literal, or interpolated into the store, is refused by the
  // option's type, whatever is read: in 20.09 (no types.externalPath) the units rendered it.
  it.each([
    ["an interpolated file", '"${./hub-pat}"'],
    ["a path literal", "./hub-pat"],
    ["a store path string", '"/nix/store/0d1f9k5vy1qzcd3rhcsc0fxs0lf6s6y6-hub-pat"'],
  ])("refuses %s as passwordFile by its type, even when only the units are read", (_, value) => {
    const h = base(`services.imagekeeper.registryAuth."docker.io".passwordFile = lib.mkForce ${value};`);
    const e = refusal("services", h);
    expect(e).toContain("services.imagekeeper.registryAuth.docker.io.passwordFile");
    expect(e).toContain("is not of type `absolute path outside the Nix store");
  });

  // Fault 2: the textfile's directory is the module's, or refused.
  it("refuses a metrics directory another NixOS module already sets up with tmpfiles", () => {
    // NixOS creates /run/keys (root:keys 0750) for key files.
    const h = base(
      `services.imagekeeper.settings.metrics.textfile = lib.mkForce "/run/keys/imagekeeper.prom";`,
    );
    expect(assertions(h)).toContain("is also set up by another systemd.tmpfiles rule (d /run/keys 0750 root");
  });

  // Fault 5.
  it("turns off the timer, the watch and the build-time check independently of the rest", () => {
    const r = report(
      base(`services.imagekeeper = {
        prune.automatic = false;
        watch.enable = false;
        validateSettings = false;
      };`),
    );
    expect(r.failedAssertions).toEqual([]);
    expect(
      Object.keys(r.units)
        .filter((n) => n.startsWith("imagekeeper-"))
        .sort(),
    ).toEqual(["imagekeeper-prune.service", "imagekeeper-registry-auth-runner.service"]);
    expect(r.settingsBuilder).not.toContain("config check");
    expect(r.settings!.prepull.concurrency).toBe(6);
  });

  it("leaves the operator's max-concurrent-downloads alone and follows it", () => {
    const r = report(base(`virtualisation.docker.daemon.settings."max-concurrent-downloads" = 10;`));
    expect(r.dockerDaemonSettings).toEqual({ "max-concurrent-downloads": 10 });
    expect(r.settings!.prepull.concurrency).toBe(10);
  });

  it("refuses, each with its message, the other bad configurations (one host, every fault)", () => {
    const msgs = assertions(
      base(`
        virtualisation.docker.enable = lib.mkForce false;
        # Two registries meeting in one credential ID (fault 3).
        services.imagekeeper.registryAuth."host:5000" = {
          username = "a"; passwordFile = "/run/secrets/a"; users = [ "runner" ]; };
        services.imagekeeper.registryAuth."host_5000" = {
          username = "b"; passwordFile = "/run/secrets/b"; users = [ "runner" ]; };
        # A misspelt runner unit, and a credential service that is not a runner service.
        services.imagekeeper.runner.services = [ "woodpecker-agent-ci" ];
        services.imagekeeper.registryAuth."docker.io".services = [ "cc-ci-runner" ];
        # A metrics file in a system directory (fault 2).
        services.imagekeeper.settings.metrics.textfile = lib.mkForce "/var/lib/imagekeeper.prom";
      `),
    ).replace(/\s+/g, " ");
    for (const m of [
      "services.imagekeeper needs virtualisation.docker.enable = true",
      'the registries "host:5000", "host_5000" (for user runner) map to the same systemd credential ID',
      'systemd.services."woodpecker-agent-ci" has no ExecStart or script',
      'the service "cc-ci-runner" (registryAuth.*.services) is not in services.imagekeeper.runner.services',
      "its directory /var/lib is a system directory",
    ])
      expect(msgs).toContain(m);
  });

  it("refuses to run beside virtualisation.docker.autoPrune", () => {
    const h = base(`virtualisation.docker.autoPrune.enable = lib.mkForce true;`);
    expect(assertions(h)).toContain("services.imagekeeper replaces virtualisation.docker.autoPrune");
    expect(refusal("report", h)).toContain("Failed assertions");
  });
});

describe("NixOS module tests (a whole NixOS system)", () => {
  it("ran, or said why not", (ctx) => {
    if (SKIP_NIX) ctx.skip(NIX_MISSING);
    expect(nixData().nixos).toBeTruthy();
  });
});

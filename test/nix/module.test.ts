// nix/module.nix evaluated with nixpkgs' lib (test/nix/eval.nix: stubbed NixOS options, fake pkgs):
// the units, timer and tmpfiles rules it renders; its settings accepted by `imagekeeper config
// check`; the autoPrune assertion; a store-path passwordFile refused; the password nowhere in what
// it renders. Needs nix-instantiate and a nixpkgs lib checkout in IMAGEKEEPER_NIXPKGS_LIB; without
// them every test here is skipped, loudly.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const LIB = process.env.IMAGEKEEPER_NIXPKGS_LIB;
const HAS_NIX = spawnSync("nix-instantiate", ["--version"], { stdio: "ignore" }).status === 0;
const SKIP_REASON = !LIB
  ? "IMAGEKEEPER_NIXPKGS_LIB is unset: set it to a nixpkgs (or nixpkgs.lib) checkout to evaluate the NixOS module"
  : !HAS_NIX
    ? "nix-instantiate is not installed (apt-get install nix-bin)"
    : undefined;
if (SKIP_REASON) process.stderr.write(`\n*** test/nix SKIPPED: ${SKIP_REASON} ***\n\n`);

const EVAL = path.resolve("test/nix/eval.nix");
const PASSWORD = "dckr_pat_NixEvalDummy-5b1e0c77";
const USERNAME = "ci-bot";

interface Rendered {
  failedAssertions: string[];
  services: Record<string, Service>;
  timers: Record<string, { wantedBy?: string[]; timerConfig: Record<string, unknown> }>;
  tmpfiles: string[];
  etc: Record<string, { source?: { env?: { value?: string }; script?: string } }>;
  users: { users: Record<string, { extraGroups: string[] }>; groups: Record<string, unknown> };
  systemPackages: string[];
}
interface Service {
  after?: string[];
  requires?: string[];
  wantedBy?: string[];
  restartTriggers?: string[];
  restartIfChanged?: boolean;
  script?: string;
  serviceConfig: Record<string, unknown>;
}

/** Evaluate with `hostConfig` (a NixOS module, as Nix source). Throws with nix's message on error. */
function evaluate(hostConfig: string): Rendered {
  const r = spawnSync(
    "nix-instantiate",
    ["--eval", "--strict", "--json", EVAL, "--argstr", "nixpkgsLib", LIB!, "--arg", "hostConfig", hostConfig],
    { encoding: "utf8", timeout: 60_000 },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Rendered;
}

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

describe.skipIf(SKIP_REASON !== undefined)("NixOS module (evaluated with nixpkgs' lib)", () => {
  let bin: string;
  let work: string;

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), "iknix-"));
    // The CLI as it ships, fresh from src/ (the committed bundle may lag behind a change here).
    bin = path.join(work, "imagekeeper.mjs");
    execFileSync(process.execPath, ["scripts/build.mjs", "--outfile", bin]);
  });

  const configCheck = (json: string) => {
    const file = path.join(mkdtempSync(path.join(work, "cfg-")), "config.json");
    writeFileSync(file, json);
    return spawnSync(process.execPath, [bin, "config", "check", "--json", "--config", file], {
      encoding: "utf8",
      env: { ...process.env, IMAGEKEEPER_STATE_DIR: "", IMAGEKEEPER_RUN_DIR: "", IMAGEKEEPER_DOCKER: "" },
    });
  };

  it("renders the prune service and timer, hardened, after and requiring docker.service", () => {
    const r = evaluate(host());
    expect(r.failedAssertions).toEqual([]);
    const prune = r.services["imagekeeper-prune"]!;
    expect(prune.after).toContain("docker.service");
    expect(prune.requires).toContain("docker.service");
    expect(prune.restartIfChanged).toBe(false);
    expect(prune.serviceConfig).toMatchObject({
      Type: "oneshot",
      User: "imagekeeper",
      Group: "imagekeeper",
      SupplementaryGroups: ["docker"],
      ProtectSystem: "strict",
      NoNewPrivileges: true,
      CapabilityBoundingSet: [""],
      MemoryDenyWriteExecute: false,
      ReadWritePaths: ["/run/imagekeeper", "/var/lib/imagekeeper"],
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

  it("renders one registry-auth unit per user, reading the secret through LoadCredential", () => {
    const r = evaluate(host());
    for (const [user, home] of [
      ["runner", "/home/runner"],
      ["root", "/root"],
    ] as const) {
      const unit = r.services[`imagekeeper-registry-auth-${user}`]!;
      expect(unit.wantedBy).toEqual(["multi-user.target"]);
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
  });

  it("shares the run-lease and state directories with the runner users through tmpfiles", () => {
    const r = evaluate(host());
    expect(r.tmpfiles).toEqual([
      "d /run/imagekeeper 2770 imagekeeper imagekeeper - -",
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
    expect(r.tmpfiles.slice(0, 2)).toEqual([
      "d /run/ik 2770 imagekeeper imagekeeper - -",
      "d /srv/ik 2770 imagekeeper imagekeeper - -",
    ]);
    expect(r.services["imagekeeper-prune"]!.serviceConfig.ReadWritePaths).toEqual(["/run/ik", "/srv/ik"]);
  });

  it("renders settings that `imagekeeper config check` accepts, with the CLI's own defaults", () => {
    const r = evaluate(host());
    const source = r.etc["imagekeeper/config.json"]!.source!;
    // Validated when the system is built, as renovate.nix validates its config.
    expect(source.script).toContain("imagekeeper config check --config $out");
    const rendered = configCheck(source.env!.value!);
    expect(rendered.stderr).toBe("");
    expect(rendered.status).toBe(0);
    // Every default the module writes is the CLI's default: rendering them changes nothing.
    const empty = configCheck("{}");
    expect(JSON.parse(rendered.stdout).config).toEqual(JSON.parse(empty.stdout).config);
  });

  it("passes set and freeform settings through; the CLI refuses a typo at build time", () => {
    const r = evaluate(
      host(`services.imagekeeper.settings = {
        prune = { highWatermarkPercent = 80; window = "0 2 * * *"; keep = [ "traefik:*" ]; };
        metrics.textfile = "/var/lib/node-exporter/imagekeeper.prom";
      };`),
    );
    const value = r.etc["imagekeeper/config.json"]!.source!.env!.value!;
    const ok = configCheck(value);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).config.prune).toMatchObject({
      highWatermarkPercent: 80,
      window: "0 2 * * *",
      keep: ["traefik:*"],
    });
    expect(r.services["imagekeeper-prune"]!.serviceConfig.ReadWritePaths).toContain("/var/lib/node-exporter");

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
    const r = evaluate(`{ ... }: {
      services.imagekeeper = {
        enable = true;
        runner.users = [ "ghost" ];
        registryAuth."docker.io" = { username = "u"; passwordFile = "/run/secrets/p"; users = [ "svc" ]; };
      };
      users.users.svc.isSystemUser = true;
    }`);
    expect(r.failedAssertions.join("\n")).toContain("virtualisation.docker.enable = true");
    expect(r.failedAssertions.join("\n")).toContain('user "ghost"');
    expect(r.failedAssertions.join("\n")).toContain('user "svc" has no home directory');
  });

  it.each([
    ["a ./file literal", "./dockerhub-pat"],
    ["a store path", '"/nix/store/0d1f9k5vy1qzcd3rhcsc0fxs0lf6s6y6-dockerhub-pat"'],
    ["a relative path", '"secrets/dockerhub-pat"'],
  ])("refuses %s as passwordFile", (_, value) => {
    expect(evalError(host("", '[ "runner" ]', value))).toMatch(/passwordFile/);
  });

  it("refuses a store path that the lib's type lets through, by assertion", () => {
    // types.externalPath only recognises full store paths (/nix/store/HASH-name).
    const r = evaluate(host("", '[ "runner" ]', '"/nix/store/dockerhub-pat"'));
    expect(r.failedAssertions.join("\n")).toContain("outside the Nix store");
  });

  it("never puts the password into anything it renders", () => {
    const dir = mkdtempSync(path.join(work, "secret-"));
    const file = path.join(dir, "dockerhub-pat");
    writeFileSync(file, `${PASSWORD}\n`, { mode: 0o600 });
    const r = evaluate(
      host(
        `services.imagekeeper.registryAuth."127.0.0.1:5000" = { username = "u"; passwordFile = "${file}"; users = [ "runner" ]; };`,
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

  it("renders nothing when disabled", () => {
    const r = evaluate(`{ ... }: { services.imagekeeper.registryAuth."docker.io" = {
      username = "u"; passwordFile = "/run/secrets/p"; users = [ "runner" ]; }; }`);
    expect(r).toMatchObject({ services: {}, timers: {}, tmpfiles: [], etc: {}, failedAssertions: [] });
  });
});

describe("NixOS module tests", () => {
  it("ran against nixpkgs' lib, or said why not", (ctx) => {
    if (SKIP_REASON) ctx.skip(SKIP_REASON);
    expect(LIB).toBeTruthy();
  });
});

# Evaluate a NixOS host with nixpkgs 20.09 (test/nix/nixos.test.ts): the full NixOS module list,
# nix/module.nix, the 20.09 shims (compat.nix) and stand-ins for the runner modules 20.09 predates
# (standins/). What the tests read, selected with -A:
#   report     the toplevel's drvPath, failed assertions, rendered units, tmpfiles rules, ...
#   assertions failed assertions only (a bad host, without building anything)
#   services   the imagekeeper and runner services as systemd.services holds them, read without
#              the assertions, as `nix eval .#nixosConfigurations.ci.config.systemd.services` does
#   tmpfiles   systemd.tmpfiles.rules, likewise
# Arguments: nixos, the directory of the extracted nixos-20.09-subset archive (nixpkgs-20.09-ik);
# host, a NixOS module (a file of examples/nixos/, or an expression).
{ nixos, host }:

let
  system = import (/. + nixos + "/nixos/lib/eval-config.nix") {
    # 20.09 refuses system = null (current nixpkgs takes the platform from nixpkgs.hostPlatform).
    system = "x86_64-linux";
    modules = [
      ./compat.nix
      ./standins/woodpecker-agents.nix
      ./standins/gitea-actions-runner.nix
      ./standins/github-runners.nix
      ../../../nix/module.nix
      # A host without hardware or a boot loader to describe, as a container is.
      {
        boot.isContainer = true;
        networking.hostName = "ci";
      }
      host
    ];
  };
  inherit (system) config pkgs;
  inherit (pkgs) lib;

  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  ours =
    name:
    lib.hasPrefix "imagekeeper" name
    || lib.hasPrefix "woodpecker-agent-" name
    || lib.hasPrefix "gitea-runner-" name
    || lib.hasPrefix "github-runner-" name
    || lib.hasPrefix "cc-ci-" name;
  settingsSource = config.environment.etc."imagekeeper/config.json".source or null;
in
{
  assertions = failedAssertions;

  services = lib.mapAttrs (_: s: {
    inherit (s)
      serviceConfig
      script
      environment
      after
      wants
      wantedBy
      partOf
      ;
  }) (lib.filterAttrs (name: _: ours name) config.systemd.services);
  tmpfiles = config.systemd.tmpfiles.rules;

  report = {
    inherit failedAssertions;
    drvPath = config.system.build.toplevel.drvPath;
    units = lib.mapAttrs (_: u: {
      inherit (u) text;
      wantedBy = u.wantedBy or [ ];
    }) (lib.filterAttrs (name: _: ours name) config.systemd.units);
    tmpfiles = config.systemd.tmpfiles.rules;
    dockerDaemonSettings = config.virtualisation.docker.daemon.settings;
    users = lib.mapAttrs (_: u: { inherit (u) extraGroups home group; }) (
      lib.filterAttrs (name: _: name == "imagekeeper" || name == "runner" || name == "root") config.users.users
    );
    groups = lib.attrNames config.users.groups;
    systemPackages = map (p: p.name or "") config.environment.systemPackages;
    settings = if settingsSource == null then null else builtins.fromJSON settingsSource.value;
    settingsBuilder = if settingsSource == null then null else settingsSource.buildCommand or "";
  };
}

# Evaluate nix/module.nix with stubbed NixOS options and fake pkgs, and return what it renders as
# plain data for test/nix/module.test.ts (nix-instantiate --eval --strict --json).
#   nixpkgsLib: a nixpkgs or nixpkgs.lib checkout (the directory holding lib/), or lib/ itself;
#   hostConfig: the host's configuration, a NixOS module.
# Failed assertions are returned, not thrown, so a test can read their messages.
{ nixpkgsLib, hostConfig }:

let
  root = /. + nixpkgsLib;
  lib = import (if builtins.pathExists (root + "/lib/default.nix") then root + "/lib" else root);
  pkgs = import ./fake-pkgs.nix { inherit lib; };
  inherit
    (lib.evalModules {
      modules = [
        ./stubs.nix
        ../../nix/module.nix
        hostConfig
        { _module.args.pkgs = pkgs; }
      ];
    })
    config
    ;
  derivationData = d: if builtins.isAttrs d && d ? outPath then removeAttrs d [ "outPath" ] // { path = d.outPath; } else d;
in
{
  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  dockerDaemonSettings = config.virtualisation.docker.daemon.settings;
  services = config.systemd.services;
  # The text of each service's ExecStartPre scripts (the runner services' registry login).
  startPreScripts = lib.mapAttrs (_: s: map (x: x.text or x) (s.serviceConfig.ExecStartPre or [ ])) config.systemd.services;
  timers = config.systemd.timers;
  tmpfiles = config.systemd.tmpfiles.rules;
  etc = lib.mapAttrs (_: e: e // lib.optionalAttrs (e ? source) { source = derivationData e.source; }) config.environment.etc;
  users = config.users;
  systemPackages = map toString config.environment.systemPackages;
}

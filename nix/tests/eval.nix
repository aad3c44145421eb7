# Flake check `module`: nix/module.nix evaluated in a real NixOS configuration (test/nix does the
# same with lib alone and stubbed options, on machines without a recent Nix). Builds the unit files
# and the validated settings file, checks a few lines of each, and that turning autoPrune on trips
# the assertion. Cheap: no VM, no system closure.
{ pkgs, self }:

let
  inherit (pkgs) lib;
  evalHost =
    extra:
    (import (pkgs.path + "/nixos/lib/eval-config.nix") {
      system = null;
      modules = [
        self.nixosModules.default
        {
          nixpkgs.pkgs = pkgs;
          boot.loader.grub.enable = false;
          fileSystems."/".device = "nodev";
          system.stateVersion = lib.trivial.release;
          virtualisation.docker.enable = true;
          users.users.runner.isNormalUser = true;
          services.imagekeeper = {
            enable = true;
            runner.users = [ "runner" ];
            registryAuth."docker.io" = {
              username = "ci-bot";
              passwordFile = "/run/secrets/dockerhub-pat";
              users = [ "runner" ];
            };
          };
        }
        extra
      ];
    }).config;
  failed = config: map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);

  config = evalHost { };
  withAutoPrune = evalHost { virtualisation.docker.autoPrune.enable = true; };
  unit = name: "${config.systemd.units.${name}.unit}/${name}";
in
assert lib.assertMsg (failed config == [ ]) (lib.concatStringsSep "\n" (failed config));
assert lib.assertMsg (lib.any (lib.hasInfix "replaces virtualisation.docker.autoPrune") (failed withAutoPrune))
  "enabling virtualisation.docker.autoPrune beside imagekeeper must fail an assertion";
pkgs.runCommand "imagekeeper-module-eval" { } ''
  set -x
  grep -q '^ExecStart=.*/bin/imagekeeper prune$' ${unit "imagekeeper-prune.service"}
  grep -q '^Requires=docker.service$' ${unit "imagekeeper-prune.service"}
  grep -q '^OnCalendar=hourly$' ${unit "imagekeeper-prune.timer"}
  grep -q '^LoadCredential=registry-docker.io:/run/secrets/dockerhub-pat$' ${unit "imagekeeper-registry-auth-runner.service"}
  grep -q '^X-Restart-Triggers=' ${unit "imagekeeper-registry-auth-runner.service"}
  grep -q 'imagekeeper' ${config.environment.etc."imagekeeper/config.json".source}
  echo ok > $out
''

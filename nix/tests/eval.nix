# Flake check `module`: the hosts of examples/nixos/ (the runner recipes docs/nixos.md shows)
# evaluated against the flake's nixpkgs, with the real Woodpecker, act_runner and github-runners
# modules (test/nix evaluates them on nixpkgs 20.09 against stand-ins, on machines with an old
# Nix). Each must evaluate with no failed assertion; the unit files are built and a few lines of
# each checked; a bad host trips the module's assertion. Cheap: no VM, no system closure (the
# toplevels are only instantiated).
{ pkgs, self }:

let
  inherit (pkgs) lib;
  evalHost =
    modules:
    (import (pkgs.path + "/nixos/lib/eval-config.nix") {
      system = null;
      modules = [
        self.nixosModules.default
        {
          nixpkgs.pkgs = pkgs;
          boot.isContainer = true;
          networking.hostName = "ci";
          system.stateVersion = lib.trivial.release;
        }
      ]
      ++ modules;
    }).config;
  failed = config: map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);

  # Each example, with the unit its runner runs in.
  examples = {
    plain = "cc-ci-runner";
    woodpecker = "woodpecker-agent-exec";
    forgejo-runner = "gitea-runner-ci";
    github-runners = "github-runner-ci";
  };
  hosts = lib.mapAttrs (name: _: evalHost [ ../../examples/nixos/${name}.nix ]) examples;
  unitFile = config: name: "${config.systemd.units.${name}.unit}/${name}";

  checkHost =
    name: runner:
    let
      config = hosts.${name};
      u = unitFile config;
    in
    assert lib.assertMsg (failed config == [ ]) "${name}: ${lib.concatStringsSep "\n" (failed config)}";
    assert lib.assertMsg (
      config.virtualisation.docker.daemon.settings."max-concurrent-downloads" or null == 6
    ) "${name}: dockerd's max-concurrent-downloads is not 6";
    ''
      echo "== ${name}: ${builtins.unsafeDiscardStringContext config.system.build.toplevel.drvPath}"
      grep -q '^ExecStart=.*/bin/imagekeeper prune$' ${u "imagekeeper-prune.service"}
      grep -q '^Requires=docker.service$' ${u "imagekeeper-prune.service"}
      grep -q '^X-StopOnRemoval=false$' ${u "imagekeeper-prune.service"}
      grep -q '^ReadWritePaths=-/var/lib/imagekeeper-metrics$' ${u "imagekeeper-prune.service"}
      grep -q '^OnCalendar=\*:0/15$' ${u "imagekeeper-prune.timer"}
      grep -q '^ExecStart=.*/bin/imagekeeper watch$' ${u "imagekeeper-watch.service"}
      grep -q '^PartOf=docker.service$' ${u "imagekeeper-watch.service"}
      grep -q '^SupplementaryGroups=.*imagekeeper' ${u "${runner}.service"}
      grep -q '^ReadWritePaths=-/run/imagekeeper$' ${u "${runner}.service"}
      grep -q 'imagekeeper-[^/]*/bin' ${u "${runner}.service"}
      grep -q 'imagekeeper' ${config.environment.etc."imagekeeper/config.json".source}
    '';
  plain = hosts.plain;
  withAutoPrune = evalHost [
    ../../examples/nixos/plain.nix
    { virtualisation.docker.autoPrune.enable = lib.mkForce true; }
  ];
in
assert lib.assertMsg (lib.any (lib.hasInfix "replaces virtualisation.docker.autoPrune") (failed withAutoPrune))
  "enabling virtualisation.docker.autoPrune beside imagekeeper must fail an assertion";
pkgs.runCommand "imagekeeper-module-eval" { } ''
  set -eux
  ${lib.concatStrings (lib.mapAttrsToList checkHost examples)}
  # The static user's credential unit, after the tmpfiles that make its ~/.docker.
  grep -q '^LoadCredential=registry-docker.io:/run/secrets/dockerhub-pat$' ${unitFile plain "imagekeeper-registry-auth-runner.service"}
  grep -q '^After=.*systemd-tmpfiles-resetup.service' ${unitFile plain "imagekeeper-registry-auth-runner.service"}
  grep -q '^X-Restart-Triggers=' ${unitFile plain "imagekeeper-registry-auth-runner.service"}
  # The runner services' own docker config.
  grep -q '^Environment="DOCKER_CONFIG=/run/imagekeeper-docker/woodpecker-agent-exec/docker"$' ${unitFile hosts.woodpecker "woodpecker-agent-exec.service"}
  grep -q '^LoadCredential=imagekeeper-registry-docker.io:/run/secrets/dockerhub-pat$' ${unitFile hosts.github-runners "github-runner-ci.service"}
  echo ok > $out
''

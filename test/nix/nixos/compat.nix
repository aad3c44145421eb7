# What nixpkgs 20.09 (the newest complete NixOS tree these tests have offline, see
# test/nix/nixos/eval.nix) lacks against the current NixOS the module is written for, supplied here
# and only here: the module itself is never bent to fit 20.09.
#   - pkgs.formats.json (pkgs-lib/formats.nix, 20.11): a JSON value type and a generator;
#   - util-linux (20.09: utillinux) and docker-client (20.09 has only the full docker);
#   - pkgs.testers (22.11), for nix/tests/vm.nix: absent, and not needed to evaluate a host;
#   - virtualisation.docker.daemon.settings (21.11): declared, as current NixOS declares it, but
#     not rendered into a daemon.json (20.09's dockerd takes flags): the tests read the option;
#   - the packages of the runner stand-ins (test/nix/nixos/standins/), which 20.09 predates;
#   - pkgs.imagekeeper, as the flake's overlays.default provides it (nix/package.nix).
{ lib, pkgs, ... }:

let
  jsonValue = import ../json-type.nix { inherit lib; };
  standInPackage =
    final: name: final.writeShellScriptBin name ''echo "${name}: a test stand-in, never run" >&2; exit 1'';
in
{
  config.nixpkgs.overlays = [
    (final: prev: {
      formats = (prev.formats or { }) // {
        json =
          { }:
          {
            type = jsonValue;
            generate =
              name: value:
              final.runCommand name {
                nativeBuildInputs = [ final.jq ];
                value = builtins.toJSON value;
                passAsFile = [ "value" ];
              } ''jq . "$valuePath" > $out'';
          };
      };
      util-linux = prev.util-linux or prev.utillinux;
      docker-client = prev.docker-client or prev.docker;
      imagekeeper = final.callPackage ../../../nix/package.nix { };
      woodpecker-agent = standInPackage final "woodpecker-agent";
      gitea-actions-runner = standInPackage final "act_runner";
      github-runner = standInPackage final "Runner.Listener";
      wget = prev.wget or (standInPackage final "wget");
    })
  ];

  options.virtualisation.docker.daemon.settings = lib.mkOption {
    # attrsOf, not a freeform submodule: 20.09's lib (polyfilled) ignores freeformType.
    type = lib.types.attrsOf jsonValue;
    default = { };
    description = "Stand-in for current NixOS's option of this name (21.11+); not rendered here.";
  };
}

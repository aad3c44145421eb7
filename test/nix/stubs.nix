# Stub declarations of the NixOS options nix/module.nix touches, so the module can be evaluated with
# nixpkgs' lib alone (full nixpkgs needs a newer Nix than this machine has). Freeform submodules
# keep them short; the few options whose merging or defaults the module relies on are declared as
# NixOS declares them (users.users.*.home/group/extraGroups). nixpkgs' lib/tests/modules.sh tests
# modules the same way. The flake's checks evaluate the module against real NixOS as well.
{ lib, ... }:

let
  inherit (lib) mkOption types;
  freeform = types.submodule { freeformType = types.lazyAttrsOf types.anything; };
  stub = type: default: mkOption { inherit type default; };
in
{
  options = {
    assertions = stub (types.listOf types.unspecified) [ ];
    warnings = stub (types.listOf types.str) [ ];

    environment.systemPackages = stub (types.listOf types.anything) [ ];
    environment.etc = stub (types.attrsOf freeform) { };

    users.groups = stub (types.attrsOf freeform) { };
    users.users = stub (types.attrsOf (
      types.submodule (
        { name, config, ... }:
        {
          freeformType = types.lazyAttrsOf types.anything;
          options = {
            isNormalUser = stub types.bool false;
            isSystemUser = stub types.bool false;
            # As in nixos/modules/config/users-groups.nix: normal users get /home/NAME and "users".
            home = stub types.str "/var/empty";
            group = stub types.str "";
            extraGroups = stub (types.listOf types.str) [ ];
          };
          config = lib.mkIf config.isNormalUser {
            home = lib.mkDefault "/home/${name}";
            group = lib.mkDefault "users";
          };
        }
      )
    )) { };

    systemd.services = stub (types.attrsOf freeform) { };
    systemd.timers = stub (types.attrsOf freeform) { };
    systemd.tmpfiles.rules = stub (types.listOf types.str) [ ];

    virtualisation.docker.enable = stub types.bool false;
    virtualisation.docker.autoPrune.enable = stub types.bool false;
  };
}

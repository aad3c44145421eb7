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
  unitOption = lib.mkOptionType {
    name = "systemd option";
    merge =
      loc: defs:
      let
        defs' = lib.filterOverrides defs;
      in
      if lib.any (d: lib.isList d.value) defs' then
        lib.concatMap (d: lib.toList d.value) defs'
      else
        lib.mergeEqualOption loc defs';
  };
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

    # As systemd-unit-options.nix declares them: list values of a directive concatenate across
    # modules (a runner module's SupplementaryGroups and ours), other values must agree.
    systemd.services = stub (types.attrsOf (
      types.submodule {
        freeformType = types.lazyAttrsOf types.anything;
        options = {
          serviceConfig = stub (types.attrsOf unitOption) { };
          environment = stub (types.attrsOf types.str) { };
          path = stub (types.listOf types.anything) [ ];
          script = stub types.str "";
          after = stub (types.listOf types.str) [ ];
          wants = stub (types.listOf types.str) [ ];
          requires = stub (types.listOf types.str) [ ];
          wantedBy = stub (types.listOf types.str) [ ];
          partOf = stub (types.listOf types.str) [ ];
        };
      }
    )) { };
    systemd.timers = stub (types.attrsOf freeform) { };
    systemd.tmpfiles.rules = stub (types.listOf types.str) [ ];

    virtualisation.docker.enable = stub types.bool false;
    virtualisation.docker.daemon.settings = stub (types.attrsOf types.anything) { };
    virtualisation.docker.autoPrune.enable = stub types.bool false;
  };
}

# Stand-in for nixpkgs' services.woodpecker-agents (nixos/modules/services/continuous-integration/
# woodpecker/agents.nix, NixOS 23.05 and later), which nixpkgs 20.09 predates: the same options
# (those a host sets) and a unit rendered as that module renders it, modelled on its current file
# (NixOS/nixpkgs 744611273ea2), written here, not copied. What matters to imagekeeper is kept
# exactly: one service per agent, woodpecker-agent-NAME; DynamicUser; SupplementaryGroups from
# extraGroups; `path` and `environment` from the agent; PrivateUsers, ProtectSystem = "strict" and
# MemoryDenyWriteExecute = true among its hardening. The local backend runs each step as a child of
# the agent, with the agent's environment and PATH, and HOME replaced by a per-workflow directory
# (pipeline/backend/local/local.go).
{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib) mkOption types;
  agentOptions = {
    options = {
      enable = lib.mkEnableOption "this Woodpecker agent";
      package = lib.mkPackageOption pkgs "woodpecker-agent" { };
      environment = mkOption {
        type = types.attrsOf types.str;
        default = { };
      };
      extraGroups = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      path = mkOption {
        type = types.listOf types.package;
        default = [ ];
      };
      environmentFile = mkOption {
        type = types.listOf types.path;
        default = [ ];
      };
    };
  };
  # Read-only views of host files the agent needs (DNS, TLS roots, time zone), as the module lists
  # them; `-`: missing ones are skipped.
  hostFiles = map (f: "-/etc/${f}") [
    "resolv.conf"
    "nsswitch.conf"
    "ssl/certs"
    "static/ssl/certs"
    "hosts"
    "localtime"
  ];
  unitOf = name: agent: {
    description = "Woodpecker-Agent Service - ${name}";
    wantedBy = [ "multi-user.target" ];
    wants = [ "network-online.target" ];
    after = [ "network-online.target" ];
    inherit (agent) environment path;
    serviceConfig = {
      ExecStart = lib.getExe agent.package;
      EnvironmentFile = agent.environmentFile;
      DynamicUser = true;
      SupplementaryGroups = agent.extraGroups;
      Restart = "on-failure";
      RestartSec = 15;
      BindReadOnlyPaths = hostFiles;
      CapabilityBoundingSet = "";
      LockPersonality = true;
      MemoryDenyWriteExecute = true;
      NoNewPrivileges = true;
      PrivateDevices = true;
      PrivateMounts = true;
      PrivateTmp = true;
      PrivateUsers = true;
      ProtectClock = true;
      ProtectControlGroups = true;
      ProtectHostname = true;
      ProtectKernelLogs = true;
      ProtectKernelModules = true;
      ProtectKernelTunables = true;
      ProtectSystem = "strict";
      RestrictAddressFamilies = [ "AF_UNIX AF_INET AF_INET6" ];
      RestrictRealtime = true;
      RestrictSUIDSGID = true;
      SystemCallArchitectures = "native";
      SystemCallFilter = "~@clock @privileged @cpu-emulation @debug @keyring @module @mount @obsolete @raw-io @reboot @setuid @swap";
    };
  };
in
{
  options.services.woodpecker-agents.agents = mkOption {
    type = types.attrsOf (types.submodule agentOptions);
    default = { };
  };

  config.systemd.services = lib.mapAttrs' (name: agent: lib.nameValuePair "woodpecker-agent-${name}" (unitOf name agent)) (
    lib.filterAttrs (_: a: a.enable) config.services.woodpecker-agents.agents
  );
}

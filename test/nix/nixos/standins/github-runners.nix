# Stand-in for nixpkgs' services.github-runners (nixos/modules/services/continuous-integration/
# github-runner/{options,service}.nix, NixOS 23.11 and later), which nixpkgs 20.09 predates: the
# options a host sets and a unit rendered as that module renders it, modelled on its current
# service.nix (NixOS/nixpkgs 5927a0f50934), written here, not copied. Kept exactly: one service per
# runner, github-runner-NAME; DynamicUser (mkDefault) unless `user` or `group` is set; HOME = the
# runtime work directory (%t/github-runner/NAME), so ~/.docker is not the user's; RuntimeDirectory,
# StateDirectory and LogsDirectory lists; the hardening set at mkDefault priority, with
# ProtectSystem = "strict", ProtectHome, PrivateUsers and MemoryDenyWriteExecute = false (Node);
# serviceOverrides merged last. Jobs run as children of the runner with its environment.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib) mkDefault mkOption types;
  runnerOptions = {
    options = {
      enable = lib.mkEnableOption "this GitHub Actions runner";
      url = mkOption { type = types.str; };
      tokenFile = mkOption { type = types.str; };
      name = mkOption {
        type = types.nullOr types.str;
        default = null;
      };
      extraLabels = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      user = mkOption {
        type = types.nullOr types.str;
        default = null;
      };
      group = mkOption {
        type = types.nullOr types.str;
        default = null;
      };
      extraPackages = mkOption {
        type = types.listOf types.package;
        default = [ ];
      };
      extraEnvironment = mkOption {
        type = types.attrs;
        default = { };
      };
      serviceOverrides = mkOption {
        type = types.attrs;
        default = { };
      };
      workDir = mkOption {
        type = types.nullOr types.str;
        default = null;
      };
      package = lib.mkPackageOption pkgs "github-runner" { };
    };
  };
  unitOf =
    name: r:
    let
      dir = "github-runner/${name}";
      workDir = if r.workDir == null then "%t/${dir}" else r.workDir;
    in
    lib.nameValuePair "github-runner-${name}" {
      description = "GitHub Actions runner";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [
        "network.target"
        "network-online.target"
      ];
      environment = {
        HOME = workDir;
        RUNNER_ROOT = "%S/${dir}";
      }
      // r.extraEnvironment;
      path = with pkgs; [
        bashInteractive
        coreutils
        git
        gnutar
        gzip
        config.nix.package
      ]
      ++ r.extraPackages;
      serviceConfig = lib.mkMerge [
        {
          ExecStart = "${r.package}/bin/Runner.Listener run --startuptype service";
          # Unconfigure (as root), configure, link the work directory: stand-ins.
          ExecStartPre = map (s: "${pkgs.writeShellScript "github-runner-${name}-${s}.sh" "exit 0"} ${dir}") [
            "unconfigure"
            "configure"
            "setup-work-dirs"
          ];
          Restart = "no";
          RestartForceExitStatus = [ 2 ];
          LogsDirectory = [ dir ];
          RuntimeDirectory = [ dir ];
          StateDirectory = [ dir ];
          StateDirectoryMode = "0700";
          WorkingDirectory = workDir;
          InaccessiblePaths = [ "-${r.tokenFile}" ];
          KillSignal = "SIGINT";
          AmbientCapabilities = lib.mkBefore [ "" ];
          CapabilityBoundingSet = lib.mkBefore [ "" ];
          DeviceAllow = lib.mkBefore [ "" ];
          NoNewPrivileges = mkDefault true;
          PrivateDevices = mkDefault true;
          PrivateMounts = mkDefault true;
          PrivateTmp = mkDefault true;
          PrivateUsers = mkDefault true;
          ProtectClock = mkDefault true;
          ProtectControlGroups = mkDefault true;
          ProtectHome = mkDefault true;
          ProtectHostname = mkDefault true;
          ProtectKernelLogs = mkDefault true;
          ProtectKernelModules = mkDefault true;
          ProtectKernelTunables = mkDefault true;
          ProtectSystem = mkDefault "strict";
          RemoveIPC = mkDefault true;
          RestrictNamespaces = mkDefault true;
          RestrictRealtime = mkDefault true;
          RestrictSUIDSGID = mkDefault true;
          UMask = mkDefault "0066";
          ProtectProc = mkDefault "invisible";
          SystemCallFilter = lib.mkBefore [
            "~@clock"
            "~@cpu-emulation"
            "~@module"
            "~@mount"
            "~@obsolete"
            "~@raw-io"
            "~@reboot"
            "~capset"
            "~setdomainname"
            "~sethostname"
          ];
          RestrictAddressFamilies = lib.mkBefore [
            "AF_INET"
            "AF_INET6"
            "AF_UNIX"
            "AF_NETLINK"
          ];
          BindPaths = lib.optional (r.workDir != null) r.workDir;
          PrivateNetwork = mkDefault false;
          MemoryDenyWriteExecute = mkDefault false;
          ProcSubset = mkDefault "all";
          LockPersonality = mkDefault false;
          DynamicUser = mkDefault true;
        }
        (lib.mkIf (r.user != null) {
          DynamicUser = false;
          User = r.user;
        })
        (lib.mkIf (r.group != null) {
          DynamicUser = false;
          Group = r.group;
        })
        r.serviceOverrides
      ];
    };
in
{
  options.services.github-runners = mkOption {
    type = types.attrsOf (types.submodule runnerOptions);
    default = { };
  };

  config.systemd.services = lib.mapAttrs' unitOf (lib.filterAttrs (_: r: r.enable) config.services.github-runners);
}

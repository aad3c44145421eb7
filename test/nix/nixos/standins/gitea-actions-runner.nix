# Stand-in for nixpkgs' services.gitea-actions-runner (nixos/modules/services/continuous-integration/
# gitea-actions-runner.nix, NixOS 23.05 and later; Forgejo's runner uses the same module), which
# nixpkgs 20.09 predates: the options a host sets and a unit rendered as that module renders it,
# modelled on its current file (NixOS/nixpkgs 359f8630b845), written here, not copied. Kept exactly:
# one service per instance, gitea-runner-NAME; DynamicUser with User = "gitea-runner" (shared by
# every instance) and StateDirectory gitea-runner; HOME = /var/lib/gitea-runner/NAME; the docker
# group only when a label runs jobs in docker; `path` = coreutils plus hostPackages when a label is
# `:host`; no ProtectSystem. In host mode act_runner runs each step on the host with the runner's
# environment (act's startHostEnvironment copies os.Environ()).
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:

let
  inherit (lib) mkOption types;
  cfg = config.services.gitea-actions-runner;
  usesDocker = i: i.labels == [ ] || lib.any (l: lib.hasInfix ":docker:" l) i.labels;
  usesHost = i: lib.any (l: lib.hasSuffix ":host" l) i.labels;
  instanceOptions = {
    options = {
      enable = lib.mkEnableOption "this Gitea Actions Runner instance";
      name = mkOption { type = types.str; };
      url = mkOption { type = types.str; };
      token = mkOption {
        type = types.nullOr types.str;
        default = null;
      };
      tokenFile = mkOption {
        type = types.nullOr (types.either types.str types.path);
        default = null;
      };
      labels = mkOption { type = types.listOf types.str; };
      settings = mkOption {
        type = types.attrs;
        default = { };
      };
      hostPackages = mkOption {
        type = types.listOf types.package;
        default = with pkgs; [
          bash
          coreutils
          curl
          gawk
          gitMinimal
          gnused
          nodejs
          wget
        ];
      };
    };
  };
  unitOf =
    name: i:
    let
      docker = usesDocker i && config.virtualisation.docker.enable;
      configFile = pkgs.writeText "config.yaml" (builtins.toJSON i.settings);
    in
    lib.nameValuePair "gitea-runner-${utils.escapeSystemdPath name}" {
      inherit (i) enable;
      description = "Gitea Actions Runner";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ] ++ lib.optional docker "docker.service";
      environment = lib.optionalAttrs (i.token != null) { TOKEN = i.token; } // {
        HOME = "/var/lib/gitea-runner/${name}";
      };
      path = [ pkgs.coreutils ] ++ lib.optionals (usesHost i) i.hostPackages;
      serviceConfig = {
        DynamicUser = true;
        User = "gitea-runner";
        StateDirectory = "gitea-runner";
        WorkingDirectory = "-/var/lib/gitea-runner/${name}";
        Restart = "on-failure";
        RestartSec = 2;
        # Registers the instance on first start or when its labels change.
        ExecStartPre = [ (pkgs.writeShellScript "gitea-register-runner-${name}" "exit 0") ];
        ExecStart = "${cfg.package}/bin/act_runner daemon --config ${configFile}";
        SupplementaryGroups = lib.optional docker "docker";
      }
      // lib.optionalAttrs (i.tokenFile != null) { EnvironmentFile = i.tokenFile; };
    };
in
{
  options.services.gitea-actions-runner = {
    package = lib.mkPackageOption pkgs "gitea-actions-runner" { };
    instances = mkOption {
      type = types.attrsOf (types.submodule instanceOptions);
      default = { };
    };
  };

  config.systemd.services = lib.mapAttrs' unitOf cfg.instances;
}

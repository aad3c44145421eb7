# NixOS module for imagekeeper on a CI host (docs/nixos.md):
#   - settings (RFC 42) rendered to /etc/imagekeeper/config.json, validated by the CLI at build time;
#   - imagekeeper-prune.timer/.service in place of virtualisation.docker.autoPrune;
#   - registry credentials (a Docker Hub PAT) written into the docker config of the users that pull,
#     from a LoadCredential file, never through the store, argv or the environment;
#   - the run-lease and state directories shared with the runner users.
# Models: nixpkgs' renovate.nix (Node CLI, settings, LoadCredential), nix-gc.nix (timer options),
# github-runner/service.nix (hardening of a Node service).
{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib)
    mkEnableOption
    mkIf
    mkOption
    mkPackageOption
    types
    ;

  cfg = config.services.imagekeeper;
  json = pkgs.formats.json { };
  exe = lib.getExe cfg.package;

  # The group that owns the run-lease and state directories: the prune service and every runner
  # user are in it, so a run's lease and a prune's lock meet in the same files.
  group = "imagekeeper";

  # Rendered like renovate.nix's validated config: a setting the CLI would refuse (a typo'd key,
  # low watermark above high, a bad cron window) fails `nixos-rebuild`, not the 3 a.m. prune.
  settingsFile =
    pkgs.runCommand "imagekeeper-config.json"
      {
        nativeBuildInputs = [ cfg.package ];
        value = builtins.toJSON cfg.settings;
        passAsFile = [ "value" ];
        preferLocalBuild = true;
      }
      ''
        cp "$valuePath" $out
        HOME=$TMPDIR imagekeeper config check --config $out > /dev/null
      '';

  # `types.externalPath` (absolute, not in the store, and a string, so a ./file literal is refused
  # before it is copied into the world-readable store) is in recent nixpkgs lib only.
  secretPath = types.externalPath or types.str;
  inStore = p: lib.hasPrefix "${builtins.storeDir}/" (toString p) || toString p == builtins.storeDir;

  # LoadCredential IDs may not contain ':' or '/', which registries (host:port) do.
  credentialId = registry: "registry-" + lib.replaceStrings [ ":" "/" "[" "]" "%" ] [ "_" "_" "_" "_" "_" ] registry;
  # systemd expands % specifiers in LoadCredential paths.
  escapeSpecifiers = lib.replaceStrings [ "%" ] [ "%%" ];

  authUsers = lib.unique (lib.concatMap (r: r.users) (lib.attrValues cfg.registryAuth));
  registriesOf = user: lib.filterAttrs (_: r: lib.elem user r.users) cfg.registryAuth;
  homeOf = user: config.users.users.${user}.home;
  declared =
    user:
    let
      u = config.users.users.${user} or { };
    in
    u.isNormalUser or false || u.isSystemUser or false || u.uid or null != null;
  groupOf = user: let g = config.users.users.${user}.group or ""; in if g == "" then "-" else g;
  authUnit = user: "imagekeeper-registry-auth-${user}";

  # Shared by both services. Not set, and why:
  #   PrivateUsers: the docker group (and the imagekeeper group) would not map into the user
  #     namespace, and the docker socket would refuse us;
  #   MemoryDenyWriteExecute: V8's JIT needs writable executable memory (as github-runner notes).
  hardening = {
    CapabilityBoundingSet = [ "" ];
    AmbientCapabilities = [ "" ];
    DeviceAllow = [ "" ];
    LockPersonality = true;
    MemoryDenyWriteExecute = false;
    NoNewPrivileges = true;
    PrivateDevices = true;
    PrivateTmp = true;
    # Filesystem unix sockets (the docker socket) are reachable from a private network namespace;
    # neither service talks to the network.
    PrivateNetwork = true;
    ProtectClock = true;
    ProtectControlGroups = true;
    ProtectHostname = true;
    ProtectKernelLogs = true;
    ProtectKernelModules = true;
    ProtectKernelTunables = true;
    # Other users' processes hidden: safe because a run lease's liveness is the kernel's flock, not
    # /proc/PID (src/lease/records.ts); a /proc check would see every runner's lease as dead.
    ProtectProc = "invisible";
    ProtectSystem = "strict";
    RestrictAddressFamilies = [ "AF_UNIX" ];
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    SystemCallArchitectures = "native";
    SystemCallFilter = [
      "@system-service"
      "~@privileged"
    ];
    SystemCallErrorNumber = "EPERM";
  };

  duration =
    default: description:
    mkOption {
      type = types.str;
      inherit default;
      description = "${description} A duration such as `90s`, `10m`, `24h` or `1h30m`.";
    };
  percent =
    default: description:
    mkOption {
      type = types.numbers.between 1 100;
      inherit default;
      inherit description;
    };
  freeform = options: types.submodule {
    freeformType = json.type;
    inherit options;
  };
in
{
  options.services.imagekeeper = {
    enable = mkEnableOption "imagekeeper, which keeps a CI host's Docker images warm: pre-pulls a recipe's images before deploy and prunes only under disk pressure, never during a run";

    package = mkPackageOption pkgs "imagekeeper" { };

    settings = mkOption {
      default = { };
      description = ''
        imagekeeper's configuration, written to {file}`/etc/imagekeeper/config.json` (which the CLI
        reads by default) and checked with `imagekeeper config check` when the system is built.
        Keys not declared here pass through as they are; the CLI refuses unknown ones.
        See docs/operations.md.
      '';
      example = lib.literalExpression ''
        {
          prune.highWatermarkPercent = 80;
          prune.keep = [ "traefik:*" "*/postgres:*" ];
          prune.window = "0 2 * * *";
          metrics.textfile = "/var/lib/prometheus-node-exporter-text/imagekeeper.prom";
        }
      '';
      type = freeform {
        stateDir = mkOption {
          type = types.str;
          default = "/var/lib/imagekeeper";
          description = "The prepull ledger and prune state. Created group-writable for the runner users.";
        };
        runDir = mkOption {
          type = types.str;
          default = "/run/imagekeeper";
          description = "The run-lease lock files, shared by the runner users and the prune service.";
        };
        docker = mkOption {
          type = types.str;
          default = "docker";
          description = "The docker client to run, a path or a name on PATH (the package puts one there).";
        };
        logLevel = mkOption {
          type = types.enum [
            "trace"
            "debug"
            "info"
            "warn"
            "error"
          ];
          default = "info";
          description = "Log level; logs are JSON lines on stderr, which journald keeps.";
        };
        prepull = mkOption {
          default = { };
          description = "How `imagekeeper prepull` pulls.";
          type = freeform {
            concurrency = mkOption {
              type = types.ints.between 1 32;
              default = 3;
              description = "Pulls at once.";
            };
            pullPolicy = mkOption {
              type = types.enum [
                "auto"
                "missing"
                "always"
              ];
              default = "auto";
              description = "`auto`: pull mutable tags, skip present pinned ones; `missing`, `always` override.";
            };
            retries = mkOption {
              type = types.ints.between 1 20;
              default = 4;
              description = "Attempts per image for transient failures (1 = no retry).";
            };
            backoffBase = duration "2s" "First retry delay, doubled on each attempt, with jitter.";
            backoffCap = duration "30s" "Longest retry delay.";
            timeout = duration "30m" "Deadline for a whole prepull.";
            mutableTags = mkOption {
              type = types.listOf types.str;
              default = [
                "latest"
                "main"
                "master"
                "edge"
                "nightly"
                "dev"
                "develop"
                "unstable"
              ];
              description = "Tags that move: always pulled under the `auto` policy (a HEAD request when unchanged).";
            };
          };
        };
        prune = mkOption {
          default = { };
          description = "The prune policy (docs/prune.md).";
          type = freeform {
            highWatermarkPercent = percent 95 "Disk usage of Docker's filesystem at which a prune is due (or less than minFree free).";
            lowWatermarkPercent = percent 85 "Usage a prune brings the disk below (and at least maxFree free); below highWatermarkPercent.";
            criticalWatermarkPercent = percent 98 "Usage above which a prune runs even outside `window`.";
            minFree = mkOption {
              type = types.nullOr types.str;
              default = "4GiB";
              description = "A prune is due when less than this is free (as nix.conf's min-free), e.g. `4GiB`; null: percentages only.";
            };
            maxFree = mkOption {
              type = types.nullOr types.str;
              default = "8GiB";
              description = "A prune frees until this much is free (as nix.conf's max-free); null: percentages only.";
            };
            minAge = duration "24h" "Images pulled, tagged or built more recently than this, and not used since, are never removed.";
            reservation = duration "15m" "How long the images of an app's latest prepull stay protected while its deploy has not started.";
            keep = mkOption {
              type = types.listOf types.str;
              default = [ ];
              example = [
                "traefik:*"
                "*/postgres:*"
              ];
              description = "Glob patterns over `repository:tag`; matching images are never removed.";
            };
            window = mkOption {
              type = types.nullOr types.str;
              default = null;
              example = "0 2 * * *";
              description = "Cron expression opening the routine pruning window; null: any time.";
            };
            windowDuration = duration "1h" "How long the window stays open after each occurrence.";
            buildCache = mkOption {
              type = types.bool;
              default = false;
              description = "Also prune build cache older than minAge.";
            };
            chunkSize = mkOption {
              type = types.ints.between 1 50;
              default = 1;
              description = "Images removed before the disk is measured again.";
            };
          };
        };
        lease = mkOption {
          default = { };
          description = "Run leases (`imagekeeper run`, `imagekeeper lease`).";
          type = freeform {
            wait = duration "10m" "How long `imagekeeper run` waits for a prune in progress (then exit 4).";
            ttl = duration "6h" "Default lifetime of a `lease acquire` lease.";
          };
        };
        metrics = mkOption {
          default = { };
          description = "Prometheus metrics.";
          type = freeform {
            textfile = mkOption {
              type = types.nullOr types.str;
              default = null;
              example = "/var/lib/prometheus-node-exporter-text/imagekeeper.prom";
              description = "node_exporter textfile written after each prune and prepull; its directory must be writable by the imagekeeper group.";
            };
          };
        };
      };
    };

    prune = {
      dates = mkOption {
        type = with types; either singleLineStr (listOf singleLineStr);
        default = "hourly";
        example = "*:0/15";
        description = ''
          When imagekeeper-prune.timer checks the disk, as {manpage}`systemd.time(7)` calendar
          events. A check without disk pressure removes nothing, and one during a CI run defers,
          so checking often is cheap and catches pressure between runs.
        '';
      };
      randomizedDelaySec = mkOption {
        type = types.singleLineStr;
        default = "0";
        example = "5min";
        description = "Random delay, up to this {manpage}`systemd.time(7)` span, before each check.";
      };
      persistent = mkOption {
        type = types.bool;
        default = true;
        description = "Run a check missed while the host was off as soon as it is back.";
      };
    };

    registryAuth = mkOption {
      default = { };
      description = ''
        Registry credentials to write into the docker client config ({file}`~/.docker/config.json`)
        of the given users, keyed by registry (`docker.io` for Docker Hub, else `host[:port]`).
        One oneshot unit per user, `imagekeeper-registry-auth-USER.service`, runs
        `imagekeeper auth login` at boot and whenever this configuration changes; it reads the
        password through systemd's LoadCredential, so the secret never enters the store, a command
        line or an environment.
      '';
      example = lib.literalExpression ''
        {
          "docker.io" = {
            username = "coopcloud-ci";
            passwordFile = config.sops.secrets.dockerhub-pat.path;
            users = [ "runner" ];
          };
        }
      '';
      type = types.attrsOf (
        types.submodule {
          options = {
            username = mkOption {
              type = types.str;
              description = "The registry account.";
            };
            passwordFile = mkOption {
              type = secretPath;
              example = "/run/secrets/dockerhub-pat";
              description = ''
                File holding the password or access token (one line), outside the Nix store, e.g.
                from sops-nix or agenix. A `./file` literal is refused: it would be copied into the
                world-readable store.
              '';
            };
            users = mkOption {
              type = types.listOf types.str;
              default = [ ];
              example = [ "runner" ];
              description = "Users whose {file}`~/.docker/config.json` gets the credential.";
            };
          };
        }
      );
    };

    runner.users = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "runner" ];
      description = ''
        The users that run CI jobs (`imagekeeper prepull`, `imagekeeper run`). They join the
        `docker` group and the `${group}` group that owns the run-lease directory and the state
        directory (the prepull ledger).
      '';
    };
  };

  config = mkIf cfg.enable {
    assertions =
      [
        {
          # Asserted, never mkForce'd: forcing it off would silently override the operator's own
          # setting; this says what replaces it and why.
          assertion = !config.virtualisation.docker.autoPrune.enable;
          message = ''
            services.imagekeeper replaces virtualisation.docker.autoPrune: set
            virtualisation.docker.autoPrune.enable = false.
            autoPrune runs `docker system prune` on a calendar, even in the middle of a deploy, and
            its `--filter until=` compares an image's build time, not its last use, so it evicts
            long-lived base images and forces cold pulls into the Docker Hub rate limit.
            imagekeeper-prune.timer (services.imagekeeper.prune.dates) removes images only under disk
            pressure (services.imagekeeper.settings.prune), least likely needed first, and defers
            while a CI run holds a lease. See docs/nixos.md, "Migrating from autoPrune".
          '';
        }
        {
          assertion = config.virtualisation.docker.enable;
          message = "services.imagekeeper needs virtualisation.docker.enable = true: it pre-pulls into and prunes this host's Docker engine.";
        }
      ]
      ++ lib.mapAttrsToList (registry: r: {
        assertion = lib.isString r.passwordFile && lib.hasPrefix "/" r.passwordFile && !inStore r.passwordFile;
        message = ''
          services.imagekeeper.registryAuth."${registry}".passwordFile must be an absolute path
          outside the Nix store (the store is world-readable), e.g. config.sops.secrets.NAME.path or
          config.age.secrets.NAME.path; got ${toString r.passwordFile}.
        '';
      }) cfg.registryAuth
      ++ map (user: {
        # Asked of the user's own definition: this module adds extraGroups to every runner user,
        # which alone would make any name look declared.
        assertion = declared user;
        message = "services.imagekeeper: user \"${user}\" (runner.users or registryAuth.*.users) is not declared in users.users; declare it (a static user: the runner's DynamicUser has no stable home or group membership).";
      }) (lib.unique (cfg.runner.users ++ authUsers))
      ++ map (user: {
        assertion = !(declared user) || homeOf user != "/var/empty";
        message = "services.imagekeeper.registryAuth: user \"${user}\" has no home directory (home = /var/empty), so there is no ~/.docker to write; give it one (users.users.${user}.home and createHome = true).";
      }) authUsers;

    environment.systemPackages = [ cfg.package ];
    environment.etc."imagekeeper/config.json".source = settingsFile;

    users.groups.${group} = { };
    users.users = lib.mkMerge [
      {
        imagekeeper = {
          isSystemUser = true;
          inherit group;
          description = "imagekeeper prune service";
        };
      }
      (lib.genAttrs cfg.runner.users (_: {
        extraGroups = [
          "docker"
          group
        ];
      }))
    ];

    # tmpfiles, not RuntimeDirectory=: the run dir must outlive every oneshot and be there for a
    # runner before any imagekeeper unit has run. setgid: files made inside belong to the group.
    systemd.tmpfiles.rules = [
      "d ${cfg.settings.runDir} 2770 imagekeeper ${group} - -"
      "d ${cfg.settings.stateDir} 2770 imagekeeper ${group} - -"
    ]
    # The directory the auth unit may write (its only writable path), with docker's mode.
    ++ map (user: "d ${homeOf user}/.docker 0700 ${user} ${groupOf user} - -") authUsers;

    systemd.services =
      {
        imagekeeper-prune = {
          description = "imagekeeper: prune Docker images under disk pressure, never during a CI run";
          after = [ "docker.service" ];
          requires = [ "docker.service" ];
          # Started by its timer: a `nixos-rebuild switch` must not set off a prune by itself.
          restartIfChanged = false;
          serviceConfig = hardening // {
            Type = "oneshot";
            ExecStart = "${exe} prune";
            User = "imagekeeper";
            Group = group;
            SupplementaryGroups = [ "docker" ];
            # Group-writable files: a runner's next prepull rewrites the ledger the prune touched.
            UMask = "0007";
            # Safe here only: the user is ours alone. (In the auth units it would delete the
            # runner user's IPC objects, those of live CI jobs included, whenever a unit stops.)
            RemoveIPC = true;
            ProtectHome = true;
            ReadWritePaths = [
              cfg.settings.runDir
              cfg.settings.stateDir
            ]
            ++ lib.optional (cfg.settings.metrics.textfile != null) (dirOf cfg.settings.metrics.textfile);
          };
        };
      }
      // lib.listToAttrs (
        map (
          user:
          let
            registries = registriesOf user;
            dockerDir = "${homeOf user}/.docker";
          in
          lib.nameValuePair (authUnit user) {
            description = "imagekeeper: registry credentials for ${user}'s docker client";
            wantedBy = [ "multi-user.target" ];
            # Run again whenever the registries, usernames or secret paths for this user change
            # (the script changes with them too; this keeps the intent explicit). A rotated secret
            # at the same path: restart the unit from the secret manager (docs/nixos.md).
            restartTriggers = [
              (builtins.toJSON (
                lib.mapAttrs (_: r: {
                  inherit (r) username;
                  passwordFile = toString r.passwordFile;
                }) registries
              ))
            ];
            serviceConfig = hardening // {
              Type = "oneshot";
              # Active after it ran, so a changed unit is restarted on switch.
              RemainAfterExit = true;
              # As the user: the config stays theirs, and the unit needs no root.
              User = user;
              LoadCredential = lib.mapAttrsToList (
                registry: r: "${credentialId registry}:${escapeSpecifiers (toString r.passwordFile)}"
              ) registries;
              # Not in the shared set: the prune reads the boot id (/proc/sys) for its lock record.
              ProcSubset = "pid";
              # Every home hidden but the one directory written.
              ProtectHome = "tmpfs";
              BindPaths = [ dockerDir ];
              UMask = "0077";
            };
            script = lib.concatStrings (
              lib.mapAttrsToList (registry: r: ''
                ${exe} auth login \
                  --registry ${lib.escapeShellArg registry} \
                  --username ${lib.escapeShellArg r.username} \
                  --password-file "$CREDENTIALS_DIRECTORY"/${credentialId registry} \
                  --docker-config ${lib.escapeShellArg dockerDir}
              '') registries
            );
          }
        ) authUsers
      );

    systemd.timers.imagekeeper-prune = {
      description = "imagekeeper: check Docker's disk and prune under pressure";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = cfg.prune.dates;
        RandomizedDelaySec = cfg.prune.randomizedDelaySec;
        Persistent = cfg.prune.persistent;
      };
    };
  };
}

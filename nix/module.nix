# NixOS module for imagekeeper on a CI host (docs/nixos.md):
#   - settings (RFC 42) rendered to /etc/imagekeeper/config.json, validated by the CLI at build time;
#   - imagekeeper-prune.timer/.service in place of virtualisation.docker.autoPrune;
#   - imagekeeper-watch.service, which records image uses from the engine's event stream;
#   - registry credentials (a Docker Hub PAT) written into the docker config of the users and the
#     runner services that pull, from a LoadCredential file, never through the store, argv or the
#     environment;
#   - the run-lease, state and metrics directories shared with the runner users and services;
#   - dockerd's max-concurrent-downloads, which caps what a parallel prepull can gain.
# Models: nixpkgs' renovate.nix (Node CLI, settings, LoadCredential, validateSettings), nix-gc.nix
# (timer options, `automatic`), docker.nix's docker-prune (X-StopOnRemoval), and
# github-runner/service.nix (hardening of a Node service).
{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib)
    mkDefault
    mkEnableOption
    mkIf
    mkOption
    mkPackageOption
    types
    ;

  cfg = config.services.imagekeeper;
  json = pkgs.formats.json { };
  exe = lib.getExe cfg.package;

  # The group that owns the run-lease, state and metrics directories: the prune and watch services
  # and every runner user and service are in it, so a run's lease and a prune's lock meet in the
  # same files.
  group = "imagekeeper";

  # Rendered like renovate.nix's validated config: a setting the CLI would refuse (a typo'd key,
  # low watermark above high, a bad cron window) fails `nixos-rebuild`, not the 3 a.m. prune.
  validatedSettings =
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
  settingsFile =
    if cfg.validateSettings then validatedSettings else json.generate "imagekeeper-config.json" cfg.settings;

  inStore = p: p == builtins.storeDir || lib.hasPrefix "${builtins.storeDir}/" p;
  # A secret's path, as a plain string: absolute and outside the store. The type is the only place
  # that can refuse a path value (`./hub-pat`) before anything turns it into a string, which copies
  # the file into the world-readable store; an assertion would come too late, and would not run at
  # all when only the units are read. `"${./hub-pat}"` is copied when Nix evaluates the string,
  # before any check: the type refuses it too (a store path, with string context), but the copy
  # exists by then (docs/nixos.md says so). Our own, not types.externalPath: that is in recent
  # nixpkgs only and lets strings with context and bare /nix/store/NAME through.
  secretPath = lib.mkOptionType {
    name = "secretPath";
    description = "absolute path outside the Nix store, as a string (e.g. config.sops.secrets.NAME.path; not a ./file, which Nix copies into the world-readable store)";
    check =
      x: builtins.isString x && !(builtins.hasContext x) && lib.hasPrefix "/" x && !(inStore x);
    merge = lib.mergeEqualOption;
  };

  # LoadCredential IDs may not contain ':' or '/', which registries (host:port) do. Not injective
  # (`host:5000` and `host_5000` meet): asserted below, per unit.
  credentialId =
    prefix: registry:
    prefix + lib.replaceStrings [ ":" "/" "[" "]" "%" ] [ "_" "_" "_" "_" "_" ] registry;
  # systemd expands % specifiers in LoadCredential paths.
  escapeSpecifiers = lib.replaceStrings [ "%" ] [ "%%" ];
  # What a unit needs to log in to `registries` into `dockerConfig`: its LoadCredential entries
  # (IDs prefixed with `idPrefix`) and the `auth login` commands that read them.
  credentialsFor = idPrefix: registries: dockerConfig: {
    loadCredential = lib.mapAttrsToList (
      registry: r: "${credentialId idPrefix registry}:${escapeSpecifiers r.passwordFile}"
    ) registries;
    logins = lib.concatStrings (
      lib.mapAttrsToList (registry: r: ''
        ${exe} auth login \
          --registry ${lib.escapeShellArg registry} \
          --username ${lib.escapeShellArg r.username} \
          --password-file "$CREDENTIALS_DIRECTORY"/${credentialId idPrefix registry} \
          --docker-config ${lib.escapeShellArg dockerConfig}
      '') registries
    );
  };

  # Credential targets: users (their ~/.docker, written by a unit of ours) and runner services
  # (a docker config in their own runtime directory, written when they start).
  authUsers = lib.unique (lib.concatMap (r: r.users) (lib.attrValues cfg.registryAuth));
  authServices = lib.unique (lib.concatMap (r: r.services) (lib.attrValues cfg.registryAuth));
  registriesOfUser = user: lib.filterAttrs (_: r: lib.elem user r.users) cfg.registryAuth;
  registriesOfService = service: lib.filterAttrs (_: r: lib.elem service r.services) cfg.registryAuth;
  authUnit = user: "imagekeeper-registry-auth-${user}";

  # Asked of the user's own definition: this module adds extraGroups to every runner user, which
  # alone would make any name look declared.
  declared =
    user:
    let
      u = config.users.users.${user} or { };
    in
    u.isNormalUser or false || u.isSystemUser or false || u.uid or null != null;
  undeclaredMessage = user: ''
    services.imagekeeper: user "${user}" (runner.users or registryAuth.*.users) is not declared in
    users.users; declare it. runner.users and registryAuth.*.users take static users with a home;
    a runner whose service has DynamicUser = true goes in runner.services and
    registryAuth.*.services instead (docs/nixos.md, "Runners").'';
  homelessMessage = user: ''
    services.imagekeeper.registryAuth: user "${user}" has no home directory (home = /var/empty),
    so there is no ~/.docker to write; give it one (users.users.${user}.home and
    createHome = true), or list its service in registryAuth.*.services instead.'';
  homeProblem =
    user:
    if !(declared user) then
      undeclaredMessage user
    else if config.users.users.${user}.home == "/var/empty" then
      homelessMessage user
    else
      null;
  # Throws the assertion's own text: the units and tmpfiles rules need the home, and whoever reads
  # them first (`nix eval .#nixosConfigurations.ci.config.systemd.services`) must get the reason,
  # not "attribute 'ghost' missing".
  homeOf =
    user:
    let
      problem = homeProblem user;
    in
    if problem == null then config.users.users.${user}.home else throw problem;
  groupOf =
    user:
    let
      g = config.users.users.${user}.group or "";
    in
    if g == "" then "-" else g;

  # A runner service's docker config: in a runtime directory of its own (created for the service's
  # user, DynamicUser included, and gone when it stops), one level down so the CLI creates it 0700.
  serviceDockerRoot = service: "imagekeeper-docker/${service}";
  serviceDockerConfig = service: "/run/${serviceDockerRoot service}/docker";

  metricsDir =
    if cfg.settings.metrics.textfile == null then null else dirOf cfg.settings.metrics.textfile;
  # Paths the services may write. `-`: a missing one is skipped, where without it the unit would
  # not start at all (226/NAMESPACE); the CLI then says which directory is missing.
  writablePaths = withRun: [
    "-${cfg.settings.stateDir}"
  ]
  ++ lib.optional withRun "-${cfg.settings.runDir}"
  ++ lib.optional (metricsDir != null) "-${metricsDir}";

  # The textfile's directory is the module's (tmpfiles below) unless that would take over a
  # directory that is not ours to own: a system directory, a place the services cannot see
  # (PrivateTmp, ProtectHome), or one that node_exporter could not read.
  metricsDirProblem =
    let
      d = metricsDir;
      under = p: d == p || lib.hasPrefix "${p}/" d;
      systemDirs = [
        "/"
        "/bin"
        "/boot"
        "/etc"
        "/home"
        "/nix"
        "/opt"
        "/root"
        "/run"
        "/srv"
        "/usr"
        "/var"
        "/var/cache"
        "/var/empty"
        "/var/lib"
        "/var/log"
      ];
      # tryEval: a rule that throws (our own ~/.docker rule for an undeclared user) is another
      # assertion's business; this one must still say what it has to say.
      otherRules = lib.filter (
        rule:
        let
          r = builtins.tryEval rule;
          fields = lib.filter (f: builtins.isString f && f != "") (builtins.split "[[:space:]]+" r.value);
        in
        r.success && lib.length fields > 1 && lib.elemAt fields 1 == d && r.value != metricsRule
      ) config.systemd.tmpfiles.rules;
    in
    if !(lib.hasPrefix "/" d) || lib.hasInfix "/./" "${d}/" || lib.hasInfix "/../" "${d}/" || lib.hasInfix "//" d then
      "is not a normalised absolute path"
    else if lib.elem d systemDirs then
      "is a system directory: the module would take over its owner and mode"
    else if lib.any under [
      builtins.storeDir
      "/tmp"
      "/var/tmp"
      "/proc"
      "/sys"
      "/dev"
      "/run/user"
    ] then
      "is not a place for it (the services have a private /tmp, and the store is read-only)"
    else if lib.any under [
      "/home"
      "/root"
    ] then
      "is in a home directory, which the services cannot see (ProtectHome)"
    else if under cfg.settings.stateDir || under cfg.settings.runDir then
      "is inside the state or run directory, which node_exporter cannot read (mode 2770/3770)"
    else if otherRules != [ ] then
      "is also set up by another systemd.tmpfiles rule (${lib.concatStringsSep "; " otherRules})"
    else
      null;
  metricsRule = "d ${metricsDir} 2775 imagekeeper ${group} - -";

  # Shared by the prune and watch services and, as the runner user, the credential units. Not set,
  # and why:
  #   PrivateUsers: not for want of the groups (the kernel checks a process's real group ids even
  #     where the namespace leaves them unmapped: the runner units of nixpkgs' Woodpecker and
  #     GitHub modules reach the docker socket that way), but untried here: nix/tests/vm.nix
  #     covers it for a runner service only;
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
    # none of these services talks to the network.
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

  # The prune and the watch: the system user `imagekeeper`, the docker socket, the shared
  # directories and nothing else.
  daemonConfig = hardening // {
    User = "imagekeeper";
    Group = group;
    SupplementaryGroups = [ "docker" ];
    # Group-writable files: a runner's next prepull rewrites the ledger the prune touched.
    UMask = "0007";
    # Safe here only: the user is ours alone. (In the auth units it would delete the runner user's
    # IPC objects, those of live CI jobs included, whenever a unit stops.)
    RemoveIPC = true;
    ProtectHome = true;
  };

  documentation = [
    "man:imagekeeper(1)"
    "file://${cfg.package}/share/doc/imagekeeper/nixos.md"
  ];

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
  freeform =
    options:
    types.submodule {
      freeformType = json.type;
      inherit options;
    };

  # dockerd's own default when nothing sets max-concurrent-downloads.
  dockerdDefaultDownloads = 3;
  daemonDownloads =
    config.virtualisation.docker.daemon.settings."max-concurrent-downloads" or dockerdDefaultDownloads;
in
{
  options.services.imagekeeper = {
    enable = mkEnableOption "imagekeeper, which keeps a CI host's Docker images warm: pre-pulls a recipe's images before deploy and prunes only under disk pressure, never during a run";

    package = mkPackageOption pkgs "imagekeeper" { };

    validateSettings = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Check the rendered settings with `imagekeeper config check` when the system is built (as
        renovate.nix does). The check runs the package on the build machine: turn it off when
        cross-compiling the host (the package would not run there), and keep the same settings on
        a native build to have them checked.
      '';
    };

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
          prune.highWatermarkPercent = 90;
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
          description = "Log level of the lines on stderr, which journald keeps (with syslog priorities, so `journalctl -p warning` filters them).";
        };
        logFormat = mkOption {
          type = types.enum [
            "human"
            "json"
          ];
          default = "human";
          description = "`human`: one readable line per event; `json`: pino JSON lines (for a log shipper).";
        };
        prepull = mkOption {
          default = { };
          description = "How `imagekeeper prepull` pulls.";
          type = freeform {
            concurrency = mkOption {
              type = types.ints.between 1 32;
              # Pulls beyond what dockerd downloads at once only queue inside the daemon.
              default = lib.min 32 daemonDownloads;
              defaultText = lib.literalExpression ''
                config.virtualisation.docker.daemon.settings."max-concurrent-downloads" or 3
              '';
              description = ''
                Pulls at once. Defaults to the number of layers dockerd downloads at once
                (services.imagekeeper.docker.maxConcurrentDownloads, 6, unless the daemon's
                settings say otherwise).
              '';
            };
            pullPolicy = mkOption {
              type = types.enum [
                "auto"
                "missing"
                "always"
              ];
              default = "auto";
              description = "`auto`: ask the registry for each tag's digest and pull what the store lacks (what `docker stack deploy` will pin); `missing`: no network, skip what is present; `always`: pull everything.";
            };
            retries = mkOption {
              type = types.ints.between 1 20;
              default = 4;
              description = "Attempts per image for transient failures (1 = no retry).";
            };
            backoffBase = duration "2s" "First retry delay, doubled on each attempt, with jitter.";
            backoffCap = duration "30s" "Longest retry delay.";
            timeout = duration "30m" "Deadline for a whole prepull.";
            progressInterval = duration "10s" "Without a terminal: how often a \"still pulling\" line is logged for an image nothing was said about.";
            stallAfter = duration "30s" "An image that receives no bytes for this long is reported as stalled (a warning).";
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
            beforeRuns = mkOption {
              type = types.bool;
              default = true;
              description = ''
                Prune in the gaps between runs: before a run takes its lease (or a prepull pulls)
                with the disk at the high watermark, new runs wait while the live ones finish and
                a prune frees room (docs/prune.md, "Gap prunes").
              '';
            };
            gapWait = duration "15m" "How long a gap prune waits for live runs to finish before giving up (the run then goes ahead). Above your usual run length.";
          };
        };
        lease = mkOption {
          default = { };
          description = "Run leases (`imagekeeper run`, `imagekeeper lease`).";
          type = freeform {
            wait = duration "20m" "How long `imagekeeper run` waits for a prune in progress (then exit 4) or behind a gap prune's drain (then it goes ahead). Above prune.gapWait.";
            ttl = duration "6h" "Default lifetime of a `lease acquire` lease.";
          };
        };
        ledger = mkOption {
          default = { };
          description = "The usage ledger the prune order reads (docs/prune.md).";
          type = freeform {
            horizon = duration "30d" "Forget images gone, and app image sets not renewed, for longer than this.";
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
              description = ''
                node_exporter textfile written after each prune and prepull (and by the watch).
                The module creates its directory (mode 2775, owner imagekeeper, group
                imagekeeper: the services and runners write it, node_exporter reads it) and
                refuses a directory that is not its to own (a system directory, one another
                tmpfiles rule sets up, one in /tmp or a home). Point node_exporter's
                `--collector.textfile.directory` at it.
              '';
            };
          };
        };
      };
    };

    prune = {
      automatic = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Check the disk and prune on a timer (imagekeeper-prune.timer, at `prune.dates`). Off:
          no timer; imagekeeper-prune.service stays, for `systemctl start imagekeeper-prune` or a
          timer of your own. As nix-gc's `automatic`.
        '';
      };
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

    watch.enable = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Run imagekeeper-watch.service: `imagekeeper watch` follows the Docker engine's event stream
        and records every image a container uses (a deploy, a test run, anything) in the ledger
        the prune policy reads, so an image in use outside `imagekeeper prepull` is not taken for
        unused. It reconnects by itself after a daemon restart.
      '';
    };

    docker.maxConcurrentDownloads = mkOption {
      type = types.nullOr types.ints.positive;
      default = 6;
      example = 10;
      description = ''
        Layers dockerd downloads at once, set (with mkDefault, so a value of your own in
        virtualisation.docker.daemon.settings wins) as the daemon's `max-concurrent-downloads`;
        settings.prepull.concurrency follows it. dockerd's own default, 3, caps a parallel cold
        prepull: measured on a CI host, 6 downloads with 6 concurrent pulls took half the time of
        pulling one image after another, and 3 gained less. null leaves the daemon alone.
      '';
    };

    registryAuth = mkOption {
      default = { };
      description = ''
        Registry credentials to write into the docker client config of the given users and runner
        services, keyed by registry (`docker.io` for Docker Hub, else `host[:port]`). The password
        is read through systemd's LoadCredential, so it never enters the store, a command line or
        an environment.
        For each user, `imagekeeper-registry-auth-USER.service` runs `imagekeeper auth login` into
        {file}`~USER/.docker/config.json` at boot and whenever this configuration changes.
        Each service gets the credential when it starts, in a docker config of its own under
        {file}`/run/imagekeeper-docker/`, and `DOCKER_CONFIG` pointing at it: the way for runners
        with DynamicUser, or whose HOME is not the user's home.
      '';
      example = lib.literalExpression ''
        {
          "docker.io" = {
            username = "coopcloud-ci";
            passwordFile = config.sops.secrets.dockerhub-pat.path;
            users = [ "runner" ];
            services = [ "woodpecker-agent-exec" ];
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
                from sops-nix or agenix, as a string. A `./file` literal is refused by this type
                before Nix copies it into the world-readable store; `"''${./file}"` is refused too,
                but Nix has copied the file by the time it is (docs/nixos.md).
              '';
            };
            users = mkOption {
              type = types.listOf types.str;
              default = [ ];
              example = [ "runner" ];
              description = "Static users whose {file}`~/.docker/config.json` gets the credential.";
            };
            services = mkOption {
              type = types.listOf types.str;
              default = [ ];
              example = [ "woodpecker-agent-exec" ];
              description = ''
                Runner services (systemd.services names, also listed in runner.services) that get
                the credential in a docker config of their own, written when they start, with
                `DOCKER_CONFIG` set for them and their jobs.
              '';
            };
          };
        }
      );
    };

    runner = {
      users = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "runner" ];
        description = ''
          Static users that run CI jobs (`imagekeeper prepull`, `imagekeeper run`). They join the
          `docker` group and the `${group}` group that owns the run-lease directory and the state
          directory (the prepull ledger).
        '';
      };
      services = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [
          "woodpecker-agent-exec"
          "gitea-runner-ci"
          "github-runner-ci"
        ];
        description = ''
          systemd services that run CI jobs, DynamicUser ones included (Woodpecker agents,
          Forgejo/Gitea act_runner, GitHub runners). Each gets, through its unit: the `docker` and
          `${group}` groups (SupplementaryGroups, which a DynamicUser takes too), write access to
          the run, state and metrics directories under ProtectSystem, imagekeeper on its PATH
          (which its jobs inherit), and an ordering after docker.service. The service must allow
          Node's JIT (MemoryDenyWriteExecute off): an assertion says so.
        '';
      };
    };
  };

  config = mkIf cfg.enable {
    assertions = [
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
    ++ map (user: {
      assertion = homeProblem user == null;
      message = homeProblem user;
    }) authUsers
    ++ map (user: {
      assertion = declared user;
      message = undeclaredMessage user;
    }) (lib.subtractLists authUsers (lib.unique cfg.runner.users))
    ++ lib.optional (metricsDir != null) {
      assertion = metricsDirProblem == null;
      message = ''
        services.imagekeeper.settings.metrics.textfile: its directory ${metricsDir}
        ${toString metricsDirProblem}. The module creates the textfile's directory for the
        imagekeeper group (mode 2775, readable by node_exporter): give imagekeeper a directory of
        its own, e.g. /var/lib/prometheus-node-exporter-text/imagekeeper.prom when nothing else
        sets up that directory, and point node_exporter's --collector.textfile.directory at it.
      '';
    }
    # One LoadCredential ID per registry within each unit: `host:5000` and `host_5000` would share
    # one, and the unit would log in to both with whichever file systemd loaded last.
    ++ lib.concatMap (
      target:
      let
        registries = lib.attrNames target.registries;
        ids = map (credentialId "") registries;
        clashes = lib.filter (r: lib.length (lib.filter (x: credentialId "" x == credentialId "" r) registries) > 1) registries;
      in
      lib.optional (lib.length (lib.unique ids) != lib.length ids) {
        assertion = false;
        message = ''
          services.imagekeeper.registryAuth: the registries ${lib.concatMapStringsSep ", " (r: ''"${r}"'') clashes}
          (for ${target.name}) map to the same systemd credential ID (":" and "/" become "_"); a
          registry host has no "_" (docker's reference grammar): remove the misspelt one.
        '';
      }
    ) (
      map (u: {
        name = "user ${u}";
        registries = registriesOfUser u;
      }) authUsers
      ++ map (s: {
        name = "service ${s}";
        registries = registriesOfService s;
      }) authServices
    )
    ++ map (service: {
      assertion = lib.elem service cfg.runner.services;
      message = ''
        services.imagekeeper.registryAuth: the service "${service}" (registryAuth.*.services) is not
        in services.imagekeeper.runner.services; add it there, so it has the groups, the paths and
        the imagekeeper command its jobs need.
      '';
    }) authServices
    ++ lib.concatMap (
      service:
      let
        unit = config.systemd.services.${service};
      in
      [
        {
          # We only add to the unit; without the runner module's own definition it has nothing to
          # run, and systemd would refuse it.
          assertion = unit.serviceConfig ? ExecStart || (unit.script or "") != "";
          message = ''
            services.imagekeeper.runner.services: systemd.services."${service}" has no ExecStart or
            script: is the name right? The runner modules name their units woodpecker-agent-NAME,
            gitea-runner-NAME and github-runner-NAME.
          '';
        }
        {
          assertion = (unit.serviceConfig.MemoryDenyWriteExecute or false) != true;
          message = ''
            services.imagekeeper.runner.services: systemd.services."${service}" sets
            MemoryDenyWriteExecute = true, under which Node's JIT (and so imagekeeper, in the
            service and in its jobs) cannot run. Set
            systemd.services."${service}".serviceConfig.MemoryDenyWriteExecute = lib.mkForce false;
          '';
        }
      ]
    ) (lib.unique cfg.runner.services);

    environment.systemPackages = [ cfg.package ];
    environment.etc."imagekeeper/config.json".source = settingsFile;

    virtualisation.docker.daemon.settings = mkIf (cfg.docker.maxConcurrentDownloads != null) {
      "max-concurrent-downloads" = mkDefault cfg.docker.maxConcurrentDownloads;
    };

    users.groups.${group} = { };
    users.users = lib.mkMerge [
      {
        imagekeeper = {
          isSystemUser = true;
          inherit group;
          description = "imagekeeper prune and watch services";
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
    # The run dir is sticky as well: a runner may remove its own lease files, not another's (the
    # owner, the prune service, may remove any). The lock file is made here, by root, read-only:
    # in a sticky dir only a file's owner (or the dir's) may delete it, so no runner can delete
    # lease.lock and split the exclusion between runs and prunes (docs/leases.md); nor drain.lock,
    # which orders gap prunes before the runs arriving behind them.
    systemd.tmpfiles.rules = [
      "d ${cfg.settings.runDir} 3770 imagekeeper ${group} - -"
      "f ${cfg.settings.runDir}/lease.lock 0440 root ${group} - -"
      "f ${cfg.settings.runDir}/drain.lock 0440 root ${group} - -"
      "d ${cfg.settings.stateDir} 2770 imagekeeper ${group} - -"
    ]
    ++ lib.optional (metricsDir != null) metricsRule
    # The directory the auth unit may write (its only writable path), with docker's mode.
    ++ map (user: "d ${homeOf user}/.docker 0700 ${user} ${groupOf user} - -") authUsers;

    systemd.services = lib.mkMerge [
      {
        imagekeeper-prune = {
          description = "imagekeeper: prune Docker images under disk pressure, never during a CI run";
          inherit documentation;
          after = [ "docker.service" ];
          requires = [ "docker.service" ];
          # Started by its timer: a `nixos-rebuild switch` must not set off a prune by itself.
          restartIfChanged = false;
          # Nor stop one that is removing images because the module went away (as docker-prune).
          unitConfig.X-StopOnRemoval = false;
          serviceConfig = daemonConfig // {
            Type = "oneshot";
            ExecStart = "${exe} prune";
            ReadWritePaths = writablePaths true;
          };
        };
      }

      (mkIf cfg.watch.enable {
        imagekeeper-watch = {
          description = "imagekeeper: record the images containers use, from the Docker engine's events";
          inherit documentation;
          wantedBy = [
            "multi-user.target"
            # Brought back when docker is started again after a stop (which PartOf passed on).
            "docker.service"
          ];
          after = [ "docker.service" ];
          wants = [ "docker.service" ];
          # Stopped and restarted with docker: a watch left running while docker is stopped would
          # reconnect through docker.socket and start the daemon again behind the operator's back.
          # A daemon crash is not a stop: the watch reconnects by itself.
          partOf = [ "docker.service" ];
          serviceConfig = daemonConfig // {
            Type = "exec";
            ExecStart = "${exe} watch";
            # SIGTERM ends it with status 0; anything else is a failure, retried. RestartSec keeps
            # a crash loop (daemon gone for good) under the start limit's 5 starts per 10 s.
            Restart = "on-failure";
            RestartSec = "5s";
            # The ledger (state dir) and the metrics textfile; it takes no leases.
            ReadWritePaths = writablePaths false;
          };
        };
      })

      (lib.listToAttrs (
        map (
          user:
          let
            registries = registriesOfUser user;
            dockerDir = "${homeOf user}/.docker";
            credentials = credentialsFor "registry-" registries dockerDir;
          in
          lib.nameValuePair (authUnit user) {
            description = "imagekeeper: registry credentials for ${user}'s docker client";
            inherit documentation;
            wantedBy = [ "multi-user.target" ];
            # BindPaths needs ~/.docker, which tmpfiles creates: at boot systemd-tmpfiles-setup;
            # on a switch that adds the user, current NixOS re-runs the rules by restarting
            # systemd-tmpfiles-resetup (through sysinit-reactivation.target; 20.09's switch ran
            # systemd-tmpfiles itself). switch-to-configuration happens to do that before it
            # starts new units; the ordering makes it the unit's own property, whoever starts it
            # while the rules are being applied. Otherwise it fails with 226/NAMESPACE.
            after = [
              "systemd-tmpfiles-setup.service"
              "systemd-tmpfiles-resetup.service"
            ];
            # Run again whenever the registries, usernames or secret paths for this user change
            # (the script changes with them too; this keeps the intent explicit). A rotated secret
            # at the same path: restart the unit from the secret manager (docs/nixos.md).
            restartTriggers = [
              (builtins.toJSON (
                lib.mapAttrs (_: r: {
                  inherit (r) username passwordFile;
                }) registries
              ))
            ];
            serviceConfig = hardening // {
              Type = "oneshot";
              # Active after it ran, so a changed unit is restarted on switch.
              RemainAfterExit = true;
              # As the user: the config stays theirs, and the unit needs no root.
              User = user;
              LoadCredential = credentials.loadCredential;
              # Not in the shared set: the prune reads the boot id (/proc/sys) for its lock record.
              ProcSubset = "pid";
              # Every home hidden but the one directory written.
              ProtectHome = "tmpfs";
              BindPaths = [ dockerDir ];
              UMask = "0077";
            };
            script = credentials.logins;
          }
        ) authUsers
      ))

      # Runner services: what their jobs need to call imagekeeper, added to the runner module's
      # own unit (lists such as SupplementaryGroups and ReadWritePaths merge with its own).
      (lib.genAttrs cfg.runner.services (_: {
        path = [ cfg.package ];
        after = [ "docker.service" ];
        serviceConfig = {
          SupplementaryGroups = [
            "docker"
            group
          ];
          # Under ProtectSystem=strict (Woodpecker's and GitHub's runners) everything else is
          # read-only; `-`, so that a missing directory never keeps the runner itself from starting.
          ReadWritePaths = writablePaths true;
        };
      }))

      # Runner services with registry credentials: the docker config is written as the service's
      # own user (DynamicUser included) when it starts, into its own runtime directory, from a
      # credential systemd reads for it. Its jobs inherit DOCKER_CONFIG (Woodpecker's local
      # backend and act_runner's host mode pass the runner's environment on, and both replace
      # HOME, so ~/.docker would not be found).
      (lib.listToAttrs (
        map (
          service:
          let
            dockerConfig = serviceDockerConfig service;
            # IDs of our own: the runner's unit may load credentials of its own.
            credentials = credentialsFor "imagekeeper-registry-" (registriesOfService service) dockerConfig;
            login = pkgs.writeShellScript "imagekeeper-registry-login-${service}" (
              ''
                set -eu
              ''
              + credentials.logins
            );
          in
          lib.nameValuePair service {
            environment.DOCKER_CONFIG = dockerConfig;
            serviceConfig = {
              LoadCredential = credentials.loadCredential;
              RuntimeDirectory = [ (serviceDockerRoot service) ];
              ExecStartPre = [ login ];
            };
          }
        ) authServices
      ))
    ];

    systemd.timers.imagekeeper-prune = mkIf cfg.prune.automatic {
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

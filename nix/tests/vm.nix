# VM test (flake check `vm`): the module on a NixOS machine with docker and a local registry that
# wants a password.
#   - the registry-auth units write a 0600 docker config from a LoadCredential secret;
#   - the runner user pre-pulls a recipe's image with it;
#   - a runner service sandboxed like nixpkgs' Woodpecker agent (DynamicUser, PrivateUsers,
#     ProtectSystem = "strict") gets its own docker config when it starts and pre-pulls another
#     recipe under a run lease, through runner.services and registryAuth.*.services;
#   - imagekeeper-watch records an image a container uses, and follows docker through a restart;
#   - a prune under disk pressure defers while `imagekeeper run` holds a lease and removes the
#     image once the run is over; the metrics textfile is written where node_exporter can read it;
#   - the man page and the docs are installed, and the wrapper names the docs;
#   - the token is looked for in the journal, the system's store closure and every world-readable
#     file.
# No network in the VM: the images are `docker import`ed and pushed to services.dockerRegistry, as
# nixpkgs' docker-registry test does. Unrun on the development machines (no KVM, Nix 2.8): run it
# on the CI host with `nix build .#checks.x86_64-linux.vm -L`.
{ pkgs, self }:

pkgs.testers.runNixOSTest {
  name = "imagekeeper";

  nodes.machine =
    { pkgs, ... }:
    {
      imports = [ self.nixosModules.default ];

      virtualisation.docker.enable = true;
      virtualisation.diskSize = 2048;

      services.dockerRegistry = {
        enable = true;
        # The test writes this file (the token must not be in the store) and restarts the registry.
        extraConfig.auth.htpasswd = {
          realm = "imagekeeper-vm";
          path = "/var/lib/docker-registry/htpasswd";
        };
      };

      users.users.runner.isNormalUser = true;

      services.imagekeeper = {
        enable = true;
        runner.users = [ "runner" ];
        runner.services = [ "ci-agent" ];
        registryAuth."127.0.0.1:5000" = {
          username = "ci";
          passwordFile = "/run/keys/registry-token";
          # root pushes the test images; the runner pulls them.
          users = [
            "runner"
            "root"
          ];
          services = [ "ci-agent" ];
        };
        # Pressure is made below by filling the disk; any unused image may go at once.
        # No reservation: the image prepulled below would otherwise stay protected for 15 minutes.
        # No gap prunes: `imagekeeper run` below would prune before its lease and take the image
        # this test wants the timer's prune to defer on (gap prunes are tested end to end on a real
        # engine by test/integration/gap-prune.itg.test.ts).
        settings.prune = {
          highWatermarkPercent = 5;
          lowWatermarkPercent = 1;
          minAge = "0s";
          reservation = "0s";
          beforeRuns = false;
        };
        settings.metrics.textfile = "/var/lib/imagekeeper-metrics/imagekeeper.prom";
      };

      # A CI agent as nixpkgs' runner modules make them: a DynamicUser in a strict sandbox, whose job
      # (here, its ExecStart) calls imagekeeper from PATH with the PAT from DOCKER_CONFIG.
      systemd.services.ci-agent = {
        description = "CI agent stand-in";
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          DynamicUser = true;
          PrivateUsers = true;
          PrivateTmp = true;
          ProtectSystem = "strict";
          NoNewPrivileges = true;
          ExecStart = "${pkgs.bash}/bin/bash -c 'imagekeeper run -- imagekeeper prepull --recipe /etc/ik-agent-recipe --env-file /etc/ik-agent-recipe/app.env'";
        };
      };

      environment.systemPackages = [ pkgs.apacheHttpd ]; # htpasswd

      environment.etc."ik-recipe/compose.yml".text = ''
        version: "3.8"
        services:
          app:
            image: 127.0.0.1:5000/ci/app:''${APP_TAG:-0}
      '';
      environment.etc."ik-recipe/app.env".text = ''
        TYPE=ik-recipe
        APP_TAG=1
      '';
      environment.etc."ik-agent-recipe/compose.yml".text = ''
        version: "3.8"
        services:
          agent:
            image: 127.0.0.1:5000/ci/agent:1
      '';
      environment.etc."ik-agent-recipe/app.env".text = ''
        TYPE=ik-agent-recipe
      '';
    };

  testScript = ''
    import base64
    import secrets

    # Made here, at run time, so that it cannot be in the store unless something put it there.
    token = "ik-vm-" + secrets.token_hex(16)
    encoded = base64.b64encode(f"ci:{token}".encode()).decode()
    image = "127.0.0.1:5000/ci/app:1"
    agent_image = "127.0.0.1:5000/ci/agent:1"
    busybox = "${pkgs.pkgsStatic.busybox}"

    machine.wait_for_unit("docker.service")

    with subtest("the auth units write each user's docker config from the secret, 0600"):
        machine.succeed("install -d -m 0700 /run/keys")
        machine.succeed(f"(umask 077; printf %s '{token}' > /run/keys/registry-token)")
        machine.succeed(
            f"printf %s '{token}' | htpasswd -niB ci > /var/lib/docker-registry/htpasswd"
        )
        machine.succeed("systemctl restart docker-registry.service")
        machine.wait_for_open_port(5000)
        # At boot the secret was not there yet (as before sops-nix or agenix first ran).
        machine.succeed(
            "systemctl restart imagekeeper-registry-auth-runner.service"
            " imagekeeper-registry-auth-root.service"
        )
        machine.succeed('test "$(stat -c %a:%U /home/runner/.docker)" = 700:runner')
        machine.succeed('test "$(stat -c %a:%U /home/runner/.docker/config.json)" = 600:runner')
        machine.succeed('test "$(stat -c %a /root/.docker/config.json)" = 600')
        machine.succeed(f"grep -qF '{encoded}' /home/runner/.docker/config.json")

    with subtest("the shared directories have the module's modes"):
        machine.succeed('test "$(stat -c %a:%U:%G /run/imagekeeper)" = 3770:imagekeeper:imagekeeper')
        machine.succeed('test "$(stat -c %a:%U:%G /var/lib/imagekeeper)" = 2770:imagekeeper:imagekeeper')
        machine.succeed(
            'test "$(stat -c %a:%U:%G /var/lib/imagekeeper-metrics)" = 2775:imagekeeper:imagekeeper'
        )

    with subtest("the runner user pre-pulls the recipe's image with its credentials"):
        for ref in [image, agent_image]:
            machine.succeed(f"tar cv --files-from /dev/null | docker import - {ref}")
            machine.succeed(f"docker push {ref}")
            machine.succeed(f"docker image rm {ref}")
        machine.succeed(
            "su - runner -c 'imagekeeper prepull --recipe /etc/ik-recipe"
            " --env-file /etc/ik-recipe/app.env'"
        )
        machine.succeed(f"docker image inspect {image}")

    with subtest("a DynamicUser runner service pre-pulls under a run lease with its own docker config"):
        machine.succeed("systemctl start ci-agent.service")
        machine.succeed(f"docker image inspect {agent_image}")
        machine.succeed(
            'test "$(stat -c %a:%U /run/imagekeeper-docker/ci-agent/docker/config.json)" = 600:ci-agent'
        )

    with subtest("the watch records an image a container uses, and follows docker"):
        machine.wait_for_unit("imagekeeper-watch.service")
        machine.succeed(f"tar -C {busybox} -c bin | docker import - watched:1")
        machine.succeed("docker run --rm watched:1 /bin/true")
        machine.wait_until_succeeds("grep -qF 'watched:1' /var/lib/imagekeeper/ledger.json", timeout=60)
        machine.succeed("systemctl restart docker.service")
        machine.wait_for_unit("imagekeeper-watch.service")
        machine.succeed("systemctl stop docker.service docker.socket")
        machine.wait_until_succeeds("! systemctl is-active imagekeeper-watch.service", timeout=30)
        machine.succeed("systemctl start docker.service")
        machine.wait_for_unit("imagekeeper-watch.service")

    with subtest("under disk pressure, a prune defers while a run holds its lease"):
        machine.succeed("fallocate -l 600M /var/lib/ik-test-filler")
        machine.succeed(
            "systemd-run --unit=ci-job --uid=runner --property=Type=exec"
            " /run/current-system/sw/bin/imagekeeper run -- sleep 600"
        )
        machine.wait_until_succeeds("imagekeeper status --json | grep -q 'sleep'")
        machine.succeed("systemctl start imagekeeper-prune.service")
        machine.succeed("journalctl -u imagekeeper-prune.service -o cat | grep -qi 'defer'")
        machine.succeed(f"docker image inspect {image}")

    with subtest("once the run is over, the next prune removes the unused image"):
        machine.succeed("systemctl stop ci-job.service")
        machine.succeed("systemctl start imagekeeper-prune.service")
        machine.fail(f"docker image inspect {image}")

    with subtest("the metrics textfile is there for node_exporter, whoever reads it"):
        machine.succeed(
            "runuser -u nobody -- grep -q '^imagekeeper_prune_runs_total'"
            " /var/lib/imagekeeper-metrics/imagekeeper.prom"
        )

    with subtest("the man page and the docs are installed, and the wrapper names the docs"):
        machine.succeed("man -w imagekeeper")
        machine.succeed(
            'pkg=$(dirname $(dirname $(readlink -f /run/current-system/sw/bin/imagekeeper)));'
            ' test -s $pkg/share/doc/imagekeeper/nixos.md;'
            ' grep -q "IMAGEKEEPER_DOC_DIR" $pkg/bin/imagekeeper'
        )

    with subtest("the token is in no log, no store path and no world-readable file"):
        machine.fail(f"journalctl --no-pager -o cat | grep -F -e '{token}' -e '{encoded}'")
        machine.fail(
            "nix-store -qR /run/current-system | xargs grep -rlIF"
            f" -e '{token}' -e '{encoded}' | grep ."
        )
        machine.fail(
            "find /etc /home /root /run /tmp /var -xdev -type f -perm -o=r -print0 2>/dev/null"
            f" | xargs -0 -r grep -lIF -e '{token}' -e '{encoded}' | grep ."
        )
  '';
}

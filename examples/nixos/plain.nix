# examples/nixos/plain.nix — a runner of your own as a plain systemd service, under a static user
# with a home: the credential lands in ~runner/.docker, where every docker client the user runs
# (the service, `sudo -u runner` by hand) finds it. Evaluated by test/nix/nixos.test.ts.
{ pkgs, ... }:
{
  imports = [ ./imagekeeper.nix ];

  users.users.runner = {
    isNormalUser = true;
    description = "Co-op Cloud recipe CI";
  };

  services.imagekeeper = {
    # The user: the docker and imagekeeper groups, for its login shells too.
    runner.users = [ "runner" ];
    # Its service: imagekeeper on PATH (services do not see environment.systemPackages), the
    # groups, and ordering after docker.service.
    runner.services = [ "cc-ci-runner" ];
    registryAuth."docker.io".users = [ "runner" ];
  };

  systemd.services.cc-ci-runner = {
    description = "Co-op Cloud recipe CI runner";
    wantedBy = [ "multi-user.target" ];
    # The first pull of the boot already authenticated.
    after = [ "imagekeeper-registry-auth-runner.service" ];
    wants = [ "imagekeeper-registry-auth-runner.service" ];
    path = [
      pkgs.git
      pkgs.bash
    ];
    serviceConfig = {
      User = "runner";
      # Whatever starts the recipe harness; it wraps each recipe in `imagekeeper run --`.
      ExecStart = "/home/runner/recipe-ci/bin/run-forever";
      Restart = "on-failure";
    };
  };
}

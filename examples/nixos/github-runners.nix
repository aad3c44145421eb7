# examples/nixos/github-runners.nix — a self-hosted GitHub Actions runner (services.github-runners):
# jobs run as children of the runner (DynamicUser unless `user` is set, ProtectSystem = "strict",
# ProtectHome, HOME = its runtime directory). Evaluated by test/nix/nixos.test.ts (against a
# stand-in for nixpkgs' github-runners module on 20.09).
{ pkgs, ... }:
{
  imports = [ ./imagekeeper.nix ];

  services.github-runners.ci = {
    enable = true;
    url = "https://github.com/coopcloud-ci";
    # A runner registration token, or a fine-grained PAT allowed to register runners.
    tokenFile = "/run/secrets/github-runner-token";
    extraLabels = [ "coop-cloud" ];
    extraPackages = [ pkgs.docker-client ];
  };

  services.imagekeeper = {
    runner.services = [ "github-runner-ci" ];
    registryAuth."docker.io".services = [ "github-runner-ci" ];
  };
}

# examples/nixos/forgejo-runner.nix — a Forgejo (or Gitea) Actions runner, act_runner in host mode:
# a job labelled `native` runs on the host as the runner's DynamicUser, with the runner's environment
# and PATH (hostPackages plus what the module adds). Evaluated by test/nix/nixos.test.ts (against a
# stand-in for nixpkgs' gitea-actions-runner module on 20.09).
{ config, pkgs, ... }:
{
  imports = [ ./imagekeeper.nix ];

  services.gitea-actions-runner.instances.ci = {
    enable = true;
    # For Forgejo, also set services.gitea-actions-runner.package = pkgs.forgejo-runner.
    name = config.networking.hostName;
    url = "https://forge.example.org";
    # TOKEN=… (the runner registration token)
    tokenFile = "/run/secrets/forgejo-runner.env";
    labels = [ "native:host" ];
    hostPackages = with pkgs; [
      bash
      coreutils
      git
      gnused
      # actions/checkout and other JavaScript actions
      nodejs
    ];
  };

  services.imagekeeper = {
    runner.services = [ "gitea-runner-ci" ];
    registryAuth."docker.io".services = [ "gitea-runner-ci" ];
  };
}

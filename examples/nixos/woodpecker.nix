# examples/nixos/woodpecker.nix — a Woodpecker agent with the local backend: each step runs on the
# host as a child of the agent (DynamicUser, PrivateUsers, ProtectSystem = "strict"), with the
# agent's environment and PATH and a fresh HOME per workflow. The module gives the agent's unit the
# docker and imagekeeper groups, the run/state/metrics directories, imagekeeper on PATH and
# DOCKER_CONFIG pointing at a docker config written with the PAT when the agent starts.
# Evaluated by test/nix/nixos.test.ts (against a stand-in for nixpkgs' woodpecker module on 20.09).
{ lib, pkgs, ... }:
{
  imports = [ ./imagekeeper.nix ];

  services.woodpecker-agents.agents.exec = {
    enable = true;
    environment = {
      WOODPECKER_SERVER = "ci.example.org:9000";
      WOODPECKER_BACKEND = "local";
      # One workflow at a time: recipes deploy to this host's swarm.
      WOODPECKER_MAX_WORKFLOWS = "1";
    };
    # WOODPECKER_AGENT_SECRET=…
    environmentFile = [ "/run/secrets/woodpecker-agent.env" ];
    # What the steps run (`image: bash` is the shell the local backend starts); add abra and the
    # git clone plugin (woodpecker-plugin-git) as your nixpkgs provides them.
    path = with pkgs; [
      bash
      coreutils
      git
    ];
  };

  # The module's woodpecker agent forbids writable executable memory, which Node's JIT (imagekeeper,
  # run by the steps in this unit) needs; the imagekeeper module asserts on it rather than override
  # another module's hardening behind your back.
  systemd.services.woodpecker-agent-exec.serviceConfig.MemoryDenyWriteExecute = lib.mkForce false;

  services.imagekeeper = {
    runner.services = [ "woodpecker-agent-exec" ];
    registryAuth."docker.io".services = [ "woodpecker-agent-exec" ];
  };
}

# examples/nixos/imagekeeper.nix — imagekeeper on a CI host, whatever the runner: imported by each
# runner recipe beside it (docs/nixos.md). Evaluated by test/nix/nixos.test.ts.
{ ... }:
{
  virtualisation.docker.enable = true;
  # Replaced by imagekeeper-prune.timer; the module refuses to build with it on.
  virtualisation.docker.autoPrune.enable = false;

  services.imagekeeper = {
    enable = true;

    # The Docker Hub personal access token (PAT). A path as a string, outside the store: from
    # sops-nix (config.sops.secrets.dockerhub-pat.path) or agenix (config.age.secrets.….path).
    # Each runner recipe says who gets it (registryAuth."docker.io".users or .services).
    registryAuth."docker.io" = {
      username = "coopcloudci";
      passwordFile = "/run/secrets/dockerhub-pat";
    };

    prune = {
      dates = "*:0/15"; # check the disk every 15 minutes
      randomizedDelaySec = "1min";
    };

    # dockerd downloads 6 layers at once (docker.maxConcurrentDownloads, the default) and prepull
    # runs as many pulls: a cold recipe pulls in about half the time of one image after another.

    settings = {
      prune = {
        highWatermarkPercent = 85;
        lowWatermarkPercent = 70;
        minAge = "24h";
        keep = [
          "traefik:*"
          "*/postgres:*"
        ];
        window = "0 2 * * *"; # routine pruning 02:00–03:00; at 98% (critical) at any time
      };
      # The module creates the directory for the imagekeeper group (2775); point node_exporter's
      # --collector.textfile.directory at it.
      metrics.textfile = "/var/lib/imagekeeper-metrics/imagekeeper.prom";
    };
  };
}

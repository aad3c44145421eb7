{
  description = "imagekeeper: keep a CI host's Docker images warm, pulled early and pruned safely";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  # No flake framework: two systems, spelled out (as ryantm/agenix does).
  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      overlays.default = final: _prev: { imagekeeper = final.callPackage ./nix/package.nix { }; };

      packages = forAllSystems (pkgs: {
        imagekeeper = pkgs.callPackage ./nix/package.nix { };
        default = self.packages.${pkgs.stdenv.hostPlatform.system}.imagekeeper;
      });

      # Usable without the overlay: the package is built from the host's own nixpkgs, and
      # services.imagekeeper.package still overrides it.
      nixosModules.imagekeeper =
        { lib, pkgs, ... }:
        {
          imports = [ ./nix/module.nix ];
          services.imagekeeper.package = lib.mkDefault (pkgs.callPackage ./nix/package.nix { });
        };
      nixosModules.default = self.nixosModules.imagekeeper;

      checks = forAllSystems (
        pkgs:
        let
          system = pkgs.stdenv.hostPlatform.system;
        in
        {
          # Builds the bundle wrapper and runs its install check (--version, the man page,
          # completions and docs, a fixture recipe).
          package = self.packages.${system}.default;
          # The runner recipes of examples/nixos/ in a current NixOS, with the real runner modules
          # (test/nix evaluates them on nixpkgs 20.09 against stand-ins).
          module = import ./nix/tests/eval.nix { inherit pkgs self; };
          # A VM: credentials, prepull as a user and as a DynamicUser runner service, the watch,
          # a prune deferred by a run, metrics, installed docs, no token anywhere it should not be.
          vm = import ./nix/tests/vm.nix { inherit pkgs self; };
        }
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.nodejs
            pkgs.docker-client
            pkgs.git
            pkgs.util-linux
            pkgs.nixfmt
          ];
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt);
    };
}

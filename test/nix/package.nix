# Evaluate nix/package.nix with nixpkgs' lib and stand-ins for its inputs, for
# test/nix/package.test.ts: the attributes it would build with (src is never forced, so nothing is
# copied to the store). Each stand-in package is a directory of this machine (its outPath), so the
# install phases can be run here for real.
#   nixpkgsLib: as in eval.nix; prefixes: JSON { nodejs, docker, git, utilLinux, coreutils } of
#   directories holding bin/.
{ nixpkgsLib, prefixes }:

let
  root = /. + nixpkgsLib;
  lib = import (if builtins.pathExists (root + "/lib/default.nix") then root + "/lib" else root);
  p = builtins.fromJSON prefixes;
  standIn = name: outPath: mainProgram: {
    inherit name outPath;
    type = "derivation";
    meta = { inherit mainProgram; };
  };
  drv = import ../../nix/package.nix {
    inherit lib;
    stdenvNoCC = {
      mkDerivation = attrs: attrs;
      # This machine builds for itself: the startup snapshot is built.
      buildPlatform.canExecute = _: true;
      hostPlatform = { };
    };
    makeWrapper = standIn "make-wrapper" "/nonexistent/make-wrapper" null;
    nodejs = standIn "nodejs" p.nodejs "node";
    docker-client = standIn "docker-client" p.docker "docker";
    git = standIn "git" p.git "git";
    util-linux = standIn "util-linux" p.utilLinux "flock";
    coreutils = standIn "coreutils" p.coreutils "ls";
  };
in
{
  inherit (drv)
    pname
    version
    buildPhase
    installPhase
    installCheckPhase
    doInstallCheck
    dontBuild
    ;
  mainProgram = drv.meta.mainProgram;
  inputs = map (d: d.name) drv.nativeBuildInputs;
}

# The type of a JSON value, as nixpkgs' pkgs-lib/formats.nix declares pkgs.formats.json's: for the
# fake pkgs of the lib-only tests and the 20.09 shim of the NixOS tests.
{ lib }:

let
  valueType =
    with lib.types;
    nullOr (oneOf [
      bool
      int
      float
      str
      path
      (attrsOf valueType)
      (listOf valueType)
    ])
    // {
      description = "JSON value";
    };
in
valueType

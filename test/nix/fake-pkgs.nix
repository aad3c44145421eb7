# The few parts of pkgs that nix/module.nix uses, faked for evaluation with lib alone. Derivations
# become plain attribute sets with an outPath (string interpolation works as with the real thing)
# that also keep what would be built, so a test can read the rendered config and build script.
{ lib }:

let
  fakeStorePath = name: "${builtins.storeDir}/00000000000000000000000000000000-${name}";
  derivation' = name: attrs: attrs // {
    inherit name;
    type = "derivation";
    outPath = fakeStorePath name;
  };
in
rec {
  imagekeeper = derivation' "imagekeeper-0.1.0" { meta.mainProgram = "imagekeeper"; };

  runCommand = name: env: script: derivation' name { inherit env script; };
  writeShellScript = name: text: derivation' name { inherit text; };

  formats.json =
    { }:
    {
      type = import ./json-type.nix { inherit lib; };
      generate = name: value: runCommand name { value = builtins.toJSON value; } "generated";
    };
}

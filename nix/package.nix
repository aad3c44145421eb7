# imagekeeper as a Nix package: the committed, self-contained bundle dist/imagekeeper.mjs (CI checks
# it equals a fresh `npm run build`) run by nodejs. No npm fetch: buildNpmPackage and importNpmLock
# need `resolved` URLs in package-lock.json, which this repository deliberately has none of
# (docs/decisions.md), and the bundle already carries every runtime dependency.
{
  lib,
  stdenvNoCC,
  makeWrapper,
  nodejs,
  docker-client,
  git,
  util-linux,
  coreutils,
}:

let
  version = (lib.importJSON ../package.json).version;
in
stdenvNoCC.mkDerivation {
  pname = "imagekeeper";
  inherit version;

  # Only what the package installs or checks: an edit to src/ or the tests does not rebuild it,
  # and nothing else of the checkout enters the store.
  src = lib.sourceByRegex ../. [
    "^package\\.json$"
    "^dist$"
    "^dist/imagekeeper\\.mjs$"
    "^test$"
    "^test/fixtures$"
    "^test/fixtures/recipes$"
    "^test/fixtures/recipes/simple(/.*)?$"
  ];

  nativeBuildInputs = [ makeWrapper ];

  dontConfigure = true;
  dontBuild = true;

  installPhase = ''
    runHook preInstall
    install -Dm444 dist/imagekeeper.mjs $out/libexec/imagekeeper/imagekeeper.mjs
    # What the CLI runs: the docker client (pull, rm, `stack config` to resolve recipes, which
    # needs docker >= 23), git (--ref reads a recipe at a tag), util-linux's flock (run leases),
    # coreutils. Prefixed, so the tested versions win over whatever the caller's PATH holds.
    # `--` before the script: Node 20 would otherwise take imagekeeper's `--env-file` (an app .env,
    # data) as its own option and load it into the process environment (nodejs/node#54232).
    makeWrapper ${lib.getExe nodejs} $out/bin/imagekeeper \
      --add-flags "-- $out/libexec/imagekeeper/imagekeeper.mjs" \
      --prefix PATH : ${
        lib.makeBinPath [
          docker-client
          git
          util-linux
          coreutils
        ]
      }
    runHook postInstall
  '';

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    # The docker client wants a writable config dir; the sandbox has no home.
    export HOME=$TMPDIR DOCKER_CONFIG=$TMPDIR/docker
    [ "$($out/bin/imagekeeper --version)" = ${lib.escapeShellArg version} ]
    # Resolving a recipe exercises the bundle, the wrapper's PATH and `docker stack config`,
    # which needs no daemon.
    images=$($out/bin/imagekeeper images \
      --recipe test/fixtures/recipes/simple \
      --env-file test/fixtures/recipes/simple/app.env)
    echo "$images"
    grep -qx 'nginx:1.27.1' <<<"$images"
    grep -qx 'postgres:16.4' <<<"$images"
    runHook postInstallCheck
  '';

  meta = {
    description = "Keep a CI host's Docker images warm: pre-pull before deploy, prune only under disk pressure, never during a run";
    license = lib.licenses.mit;
    mainProgram = "imagekeeper";
    platforms = lib.platforms.linux;
  };
}

# imagekeeper as a Nix package: the committed, self-contained bundle dist/imagekeeper.mjs (CI checks
# it equals a fresh `npm run build`) run by nodejs, with the man page and shell completions
# generated from the command definitions (dist/man, dist/completions) and the docs (docs/*.md).
# No npm fetch: buildNpmPackage and importNpmLock need `resolved` URLs in package-lock.json, which
# this repository deliberately has none of (docs/decisions.md), and the bundle already carries
# every runtime dependency.
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
    # Generated from the command definitions and committed (like the bundle).
    "^dist/man(/imagekeeper\\.1)?$"
    "^dist/completions(/(imagekeeper\\.bash|_imagekeeper|imagekeeper\\.fish))?$"
    "^docs(/[^/]+\\.md)?$"
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
    # What `--help`, the units' Documentation= and docs/nixos.md point at.
    install -Dm444 -t $out/share/doc/imagekeeper docs/*.md
    install -Dm444 dist/man/imagekeeper.1 $out/share/man/man1/imagekeeper.1
    install -Dm444 dist/completions/imagekeeper.bash $out/share/bash-completion/completions/imagekeeper
    install -Dm444 dist/completions/_imagekeeper $out/share/zsh/site-functions/_imagekeeper
    install -Dm444 dist/completions/imagekeeper.fish $out/share/fish/vendor_completions.d/imagekeeper.fish
    # What the CLI runs: the docker client (pull, rm, `stack config` to resolve recipes, which
    # needs docker >= 23), git (--ref reads a recipe at a tag), util-linux's flock (run leases),
    # coreutils. Prefixed, so the tested versions win over whatever the caller's PATH holds.
    # `--` before the script: Node 20 would otherwise take imagekeeper's `--env-file` (an app .env,
    # data) as its own option and load it into the process environment (nodejs/node#54232).
    # IMAGEKEEPER_DOC_DIR: the installed docs, which `imagekeeper --help` names (a caller's own
    # value wins).
    makeWrapper ${lib.getExe nodejs} $out/bin/imagekeeper \
      --add-flags "-- $out/libexec/imagekeeper/imagekeeper.mjs" \
      --set-default IMAGEKEEPER_DOC_DIR $out/share/doc/imagekeeper \
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
    # The man page, the completions and the docs are where man, the shells and --help look.
    for f in share/man/man1/imagekeeper.1 share/bash-completion/completions/imagekeeper \
        share/zsh/site-functions/_imagekeeper share/fish/vendor_completions.d/imagekeeper.fish \
        share/doc/imagekeeper/nixos.md share/doc/imagekeeper/operations.md; do
      [ -s "$out/$f" ] || { echo "missing or empty: $out/$f" >&2; exit 1; }
    done
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

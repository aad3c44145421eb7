# imagekeeper as a Nix package: the committed, self-contained bundle dist/imagekeeper.mjs (CI checks
# it equals a fresh `npm run build`) run by nodejs, with the man page and shell completions
# generated from the command definitions (dist/man, dist/completions) and the docs (docs/*.md).
# The build phase makes one artefact of its own: a V8 startup snapshot of the bundle
# (imagekeeper.blob), built with the package's nodejs, the only Node that can start from it; the
# wrapper starts from it when it fits, else from the bundle (docs/performance.md, docs/decisions.md).
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
  # The startup snapshot is built where this machine can run the package's node (not when
  # cross-compiling): a blob fits only the Node that built it. canExecute came with nixpkgs 21.11;
  # older trees (the 20.09 the module tests evaluate) compare the systems.
  snapshot =
    with stdenvNoCC;
    if buildPlatform ? canExecute then
      buildPlatform.canExecute hostPlatform
    else
      buildPlatform.system == hostPlatform.system;
  # The wrapper's first try (makeWrapper --run, before its exec line): start from the snapshot when
  # it is there, is the one this package built (its first 48 bytes: Node's version, architecture,
  # platform and V8's flags tag, NUL bytes dropped; @blobHead@ is filled in by the build), and no
  # NODE_OPTIONS is set: V8 flags there (--max-old-space-size, …) make Node refuse any snapshot
  # (exit 14, before a line of ours runs). Otherwise the exec line starts the bundle. `--` as
  # there; the path after it only takes the script's place in argv (scripts/snapshot-entry.cjs).
  startFromSnapshot = lib.concatStringsSep " " [
    ''if [ -z "''${NODE_OPTIONS-}" ]''
    # 2>/dev/null before the `<`: redirections apply left to right, and a missing blob is no error.
    "&& LC_ALL=C IFS= read -r -N 48 ik_head 2>/dev/null < @out@/libexec/imagekeeper/imagekeeper.blob"
    ''&& [ "$ik_head" = @blobHead@ ];''
    # One line: test/integration/launch.itg.test.ts starts imagekeeper with exactly this.
    ''then exec -a "$0" ${lib.getExe nodejs} --snapshot-blob @out@/libexec/imagekeeper/imagekeeper.blob -- @out@/libexec/imagekeeper/imagekeeper.mjs "$@"; fi''
  ];
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
    # What builds the startup snapshot from the bundle.
    "^scripts$"
    "^scripts/snapshot-entry\\.cjs$"
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
  dontBuild = !snapshot;

  # The startup snapshot (docs/performance.md): the bundle evaluated once here, its heap saved for
  # every start to restore (scripts/snapshot-entry.cjs), and the head the wrapper compares.
  buildPhase = lib.optionalString snapshot ''
    runHook preBuild
    ${lib.getExe nodejs} --snapshot-blob imagekeeper.blob --build-snapshot scripts/snapshot-entry.cjs \
      dist/imagekeeper.mjs
    LC_ALL=C IFS= read -r -N 48 blobHead < imagekeeper.blob
    printf -v blobHead %q "$blobHead"
    runHook postBuild
  '';

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
    # data) as its own option and load it into the process environment (nodejs/node#54232); the
    # snapshot start keeps it. IMAGEKEEPER_DOC_DIR: the installed docs, which `imagekeeper --help`
    # names (a caller's own value wins). --run: the snapshot first, when it fits (startFromSnapshot
    # above).
    ${lib.optionalString snapshot ''
      install -Dm444 imagekeeper.blob $out/libexec/imagekeeper/imagekeeper.blob
      launch=${lib.escapeShellArg startFromSnapshot}
      launch=''${launch//@out@/"$out"}
      launch=''${launch//@blobHead@/"$blobHead"}
    ''}
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
      } ${lib.optionalString snapshot ''--run "$launch"''}
    runHook postInstall
  '';

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    # The docker client wants a writable config dir; the sandbox has no home.
    export HOME=$TMPDIR DOCKER_CONFIG=$TMPDIR/docker
    [ "$($out/bin/imagekeeper --version)" = ${lib.escapeShellArg version} ]
    ${lib.optionalString snapshot ''
      # The snapshot starts with this node, and answers as the bundle does (NODE_OPTIONS set: the
      # wrapper takes the bundle).
      blob=$out/libexec/imagekeeper/imagekeeper.blob
      [ "$(${lib.getExe nodejs} --snapshot-blob $blob -- $out/libexec/imagekeeper/imagekeeper.mjs --version)" \
        = ${lib.escapeShellArg version} ]
      for args in --help "prepull --help" "version --json"; do
        [ "$($out/bin/imagekeeper $args)" = "$(NODE_OPTIONS=--no-warnings $out/bin/imagekeeper $args)" ]
      done
    ''}    # The man page, the completions and the docs are where man, the shells and --help look.
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

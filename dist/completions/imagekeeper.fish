# fish completion for imagekeeper 0.1.0. Generated from imagekeeper's command definitions (scripts/build.mjs); do not edit.
# Install: put it as imagekeeper.fish in ~/.config/fish/completions or a vendor completions dir.

# The command words on the line so far: neither options nor their values, up to `--`.
function __imagekeeper_words
    set -l skip 0
    for w in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case --
                return
            case --assume-usage --baseline --capacity --concurrency --config --default-size --docker-config --env-file --flush-interval --id --kind --label --log-format --log-level --metrics-interval --password-file --progress-interval --pull-policy --pull-rate --recipe --ref --registry --retries --role --run-length --set --since --stall-after --timeout --timer --trace --ttl --username --wait --write-trace
                set skip 1
            case '-*'
            case '*'
                echo $w
        end
    end
end

# True when the words on the line are exactly these.
function __imagekeeper_at
    set -l w (__imagekeeper_words)
    test "$w" = "$argv"
end

# True when the command is this one (its words start the line's words).
function __imagekeeper_using
    set -l w (__imagekeeper_words)
    set -l n (count $argv)
    test (count $w) -ge $n; or return 1
    test "$w[1..$n]" = "$argv"
end

# True after `--` (the command that run runs).
function __imagekeeper_after_dashdash
    contains -- -- (commandline -opc)[2..-1]
end

complete -c imagekeeper -f
complete -c imagekeeper -n '__imagekeeper_at' -a 'env' -d 'the variables the deploy will see: the app .env and the recipe\'s abra.sh exports'
complete -c imagekeeper -n '__imagekeeper_at' -a 'images' -d 'the images a recipe\'s deploy will use, resolved as abra resolves them'
complete -c imagekeeper -n '__imagekeeper_at' -a 'prepull' -d 'make sure a recipe\'s images are in the local store before the deploy'
complete -c imagekeeper -n '__imagekeeper_at' -a 'run' -d 'run a command under a shared run lease (prune defers while it runs)'
complete -c imagekeeper -n '__imagekeeper_at' -a 'lease' -d 'run leases for CI runners that cannot wrap a job in one process'
complete -c imagekeeper -n '__imagekeeper_at' -a 'prune' -d 'remove unused images under disk pressure, by the prune policy'
complete -c imagekeeper -n '__imagekeeper_at' -a 'watch' -d 'record image uses from the engine\'s events (a long-running service)'
complete -c imagekeeper -n '__imagekeeper_at' -a 'simulate' -d 'replay a CI trace through the prune policy at several disk sizes'
complete -c imagekeeper -n '__imagekeeper_at' -a 'status' -d 'disk usage, live leases, last prune, ledger size'
complete -c imagekeeper -n '__imagekeeper_at' -a 'history' -d 'recent prepulls, prunes and image removals, from the state dir\'s journal'
complete -c imagekeeper -n '__imagekeeper_at' -a 'doctor' -d 'check this host\'s set-up: docker, daemon access, dirs, groups, tools, credentials, clock'
complete -c imagekeeper -n '__imagekeeper_at' -a 'auth' -d 'registry credentials in a Docker client config'
complete -c imagekeeper -n '__imagekeeper_at' -a 'config' -d 'the config file'
complete -c imagekeeper -n '__imagekeeper_at' -a 'completion' -d 'print the shell completion script for bash, zsh or fish'
complete -c imagekeeper -n '__imagekeeper_at' -a 'help' -d 'show the help of a command or group'
complete -c imagekeeper -n '__imagekeeper_at lease' -a 'acquire' -d 'take a run lease for runners that cannot wrap a process'
complete -c imagekeeper -n '__imagekeeper_at lease' -a 'release' -d 'release a run lease taken with lease acquire'
complete -c imagekeeper -n '__imagekeeper_at auth' -a 'login' -d 'write a registry credential into a Docker client config'
complete -c imagekeeper -n '__imagekeeper_at config' -a 'check' -d 'validate a config file and print it with defaults filled in'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'env' -d 'the variables the deploy will see: the app .env and the recipe\'s abra.sh exports'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'images' -d 'the images a recipe\'s deploy will use, resolved as abra resolves them'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'prepull' -d 'make sure a recipe\'s images are in the local store before the deploy'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'run' -d 'run a command under a shared run lease (prune defers while it runs)'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'lease' -d 'run leases for CI runners that cannot wrap a job in one process'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'prune' -d 'remove unused images under disk pressure, by the prune policy'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'watch' -d 'record image uses from the engine\'s events (a long-running service)'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'simulate' -d 'replay a CI trace through the prune policy at several disk sizes'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'status' -d 'disk usage, live leases, last prune, ledger size'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'history' -d 'recent prepulls, prunes and image removals, from the state dir\'s journal'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'doctor' -d 'check this host\'s set-up: docker, daemon access, dirs, groups, tools, credentials, clock'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'auth' -d 'registry credentials in a Docker client config'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'config' -d 'the config file'
complete -c imagekeeper -n '__imagekeeper_at help' -a 'completion' -d 'print the shell completion script for bash, zsh or fish'
complete -c imagekeeper -n 'not __imagekeeper_after_dashdash' -l config -r -F -d 'the config file (else $IMAGEKEEPER_CONFIG, else /etc/imagekeeper/config.json if it exists)'
complete -c imagekeeper -n 'not __imagekeeper_after_dashdash' -l log-level -r -f -a 'trace debug info warn error' -d 'trace, debug, info, warn or error (else $IMAGEKEEPER_LOG_LEVEL, else config logLevel, else info)'
complete -c imagekeeper -n 'not __imagekeeper_after_dashdash' -l log-format -r -f -a 'human json' -d 'human (one readable line per event, the default) or json (else $IMAGEKEEPER_LOG_FORMAT, config logFormat)'
complete -c imagekeeper -n 'not __imagekeeper_after_dashdash' -l quiet -s q -d 'warnings and errors only: no progress or summary lines on stderr'
complete -c imagekeeper -n 'not __imagekeeper_after_dashdash' -l json -d 'print one JSON document (the result, or the error) instead of text'
complete -c imagekeeper -n 'not __imagekeeper_after_dashdash' -l help -s h -d 'show the help of the command (or of imagekeeper)'
complete -c imagekeeper -n 'not __imagekeeper_after_dashdash' -l version -s V -d 'print the version'
complete -c imagekeeper -n '__imagekeeper_using env; and not __imagekeeper_after_dashdash' -l recipe -r -f -a '(__fish_complete_directories)' -d 'optional: the recipe\'s checkout (compose files, abra.sh, git history)'
complete -c imagekeeper -n '__imagekeeper_using env; and not __imagekeeper_after_dashdash' -l env-file -r -F -d 'the app\'s .env (TYPE=NAME:VERSION, COMPOSE_FILE, variables); optional'
complete -c imagekeeper -n '__imagekeeper_using env; and not __imagekeeper_after_dashdash' -l ref -r -f -d 'read this version (tag, branch, commit) instead of the pin: the upgrade\'s'
complete -c imagekeeper -n '__imagekeeper_using env; and not __imagekeeper_after_dashdash' -l chaos -d 'the working tree as it is, uncommitted changes included, whatever the pin'
complete -c imagekeeper -n '__imagekeeper_using env; and not __imagekeeper_after_dashdash' -l set -r -f -d 'add or override a variable of the app .env (repeatable); an export in the'
complete -c imagekeeper -n '__imagekeeper_using images; and not __imagekeeper_after_dashdash' -l recipe -r -f -a '(__fish_complete_directories)' -d 'the recipe\'s checkout (compose files, abra.sh, git history)'
complete -c imagekeeper -n '__imagekeeper_using images; and not __imagekeeper_after_dashdash' -l env-file -r -F -d 'the app\'s .env (TYPE=NAME:VERSION, COMPOSE_FILE, variables); optional'
complete -c imagekeeper -n '__imagekeeper_using images; and not __imagekeeper_after_dashdash' -l ref -r -f -d 'read this version (tag, branch, commit) instead of the pin: the upgrade\'s'
complete -c imagekeeper -n '__imagekeeper_using images; and not __imagekeeper_after_dashdash' -l chaos -d 'the working tree as it is, uncommitted changes included, whatever the pin'
complete -c imagekeeper -n '__imagekeeper_using images; and not __imagekeeper_after_dashdash' -l set -r -f -d 'add or override a variable of the app .env (repeatable); an export in the'
complete -c imagekeeper -n '__imagekeeper_using prepull; and not __imagekeeper_after_dashdash' -l recipe -r -f -a '(__fish_complete_directories)' -d 'the recipe\'s checkout (compose files, abra.sh, git history)'
complete -c imagekeeper -n '__imagekeeper_using prepull; and not __imagekeeper_after_dashdash' -l env-file -r -F -d 'the app\'s .env (TYPE=NAME:VERSION, COMPOSE_FILE, variables); optional'
complete -c imagekeeper -n '__imagekeeper_using prepull; and not __imagekeeper_after_dashdash' -l ref -r -f -d 'read this version (tag, branch, commit) instead of the pin: the upgrade\'s'
complete -c imagekeeper -n '__imagekeeper_using prepull; and not __imagekeeper_after_dashdash' -l chaos -d 'the working tree as it is, uncommitted changes included, whatever the pin'
complete -c imagekeeper -n '__imagekeeper_using prepull; and not __imagekeeper_after_dashdash' -l set -r -f -d 'add or override a variable of the app .env (repeatable); an export in the'
complete -c imagekeeper -n '__imagekeeper_using prepull; and not __imagekeeper_after_dashdash' -l role -r -f -d 'what this deploy is for, recorded in the ledger beside the app (default:'
complete -c imagekeeper -n '__imagekeeper_using prepull; and not __imagekeeper_after_dashdash' -l concurrency -r -f -d 'images pulled at once (default 3, config prepull.concurrency). dockerd'
complete -c imagekeeper -n '__imagekeeper_using prepull; and not __imagekeeper_after_dashdash' -l pull-policy -r -f -a 'auto missing always' -d 'auto | missing | always (default auto, config prepull.pullPolicy)'
complete -c imagekeeper -n '__imagekeeper_using prepull; and not __imagekeeper_after_dashdash' -l retries -r -f -d 'attempts per image for transient failures (default 4)'
complete -c imagekeeper -n '__imagekeeper_using prepull; and not __imagekeeper_after_dashdash' -l timeout -r -f -d 'deadline for the whole prepull, registry checks included (default 30m)'
complete -c imagekeeper -n '__imagekeeper_using prepull; and not __imagekeeper_after_dashdash' -l progress-interval -r -f -d 'the steady interval without a terminal (default 10s, config'
complete -c imagekeeper -n '__imagekeeper_using prepull; and not __imagekeeper_after_dashdash' -l stall-after -r -f -d 'no bytes for this long is a stall (default 30s, config prepull.stallAfter)'
complete -c imagekeeper -n '__imagekeeper_using prepull; and not __imagekeeper_after_dashdash' -l dry-run -d 'ask the registries and print the plan; pull nothing'
complete -c imagekeeper -n '__imagekeeper_using run; and not __imagekeeper_after_dashdash' -l wait -r -f -d 'how long to wait for a prune in progress or another run\'s gap prune,'
complete -c imagekeeper -n '__imagekeeper_using run; and __imagekeeper_after_dashdash' -F -a '(__fish_complete_command)'
complete -c imagekeeper -n '__imagekeeper_using lease acquire; and not __imagekeeper_after_dashdash' -l ttl -r -f -d 'how long the lease may live at most, e.g. 45m, 2h (default: config'
complete -c imagekeeper -n '__imagekeeper_using lease acquire; and not __imagekeeper_after_dashdash' -l id -r -f -d 'the lease id, e.g. the CI job id (1-64 of A-Z a-z 0-9 . _ -, not starting'
complete -c imagekeeper -n '__imagekeeper_using lease acquire; and not __imagekeeper_after_dashdash' -l wait -r -f -d 'how long to wait for a prune in progress (default: config lease.wait, 20m)'
complete -c imagekeeper -n '__imagekeeper_using lease acquire; and not __imagekeeper_after_dashdash' -l label -r -f -d 'what the lease is for, shown by imagekeeper status (default: the caller\'s'
complete -c imagekeeper -n '__imagekeeper_using prune; and not __imagekeeper_after_dashdash' -l dry-run -d 'print the whole plan (each image kept or removable, why, last use, size,'
complete -c imagekeeper -n '__imagekeeper_using prune; and not __imagekeeper_after_dashdash' -l assume-usage -r -f -d 'with --dry-run: plan as if the disk were PCT% used (0-100), e.g. to see'
complete -c imagekeeper -n '__imagekeeper_using watch; and not __imagekeeper_after_dashdash' -l flush-interval -r -f -d 'longest an event waits before the ledger is written (default 2s);'
complete -c imagekeeper -n '__imagekeeper_using watch; and not __imagekeeper_after_dashdash' -l metrics-interval -r -f -d 'how often the metrics textfile is refreshed (default 1m)'
complete -c imagekeeper -n '__imagekeeper_using simulate; and not __imagekeeper_after_dashdash' -l trace -r -F -d 'JSON Lines, one run a line, in time order (format: docs/simulate.md)'
complete -c imagekeeper -n '__imagekeeper_using simulate; and not __imagekeeper_after_dashdash' -l from-ledger -d 'replay this host\'s own ledger (stateDir) instead: what it can and cannot'
complete -c imagekeeper -n '__imagekeeper_using simulate; and not __imagekeeper_after_dashdash' -l write-trace -r -F -d 'with --from-ledger: also write the reconstructed trace to FILE'
complete -c imagekeeper -n '__imagekeeper_using simulate; and not __imagekeeper_after_dashdash' -l run-length -r -f -d 'with --from-ledger: each run\'s lease length (default 10m)'
complete -c imagekeeper -n '__imagekeeper_using simulate; and not __imagekeeper_after_dashdash' -l default-size -r -f -d 'with --from-ledger: size of an image the ledger has none for (default 300MiB)'
complete -c imagekeeper -n '__imagekeeper_using simulate; and not __imagekeeper_after_dashdash' -l capacity -r -f -d 'disk size to simulate, e.g. 40GiB (repeatable; default: 50%, 75%, 100% and'
complete -c imagekeeper -n '__imagekeeper_using simulate; and not __imagekeeper_after_dashdash' -l baseline -r -f -a 'lru oracle autoprune' -d 'also replay: lru (same rules, least recently used first), oracle (same'
complete -c imagekeeper -n '__imagekeeper_using simulate; and not __imagekeeper_after_dashdash' -l timer -r -f -d 'prune timer period (default 1h, as the NixOS module\'s "hourly"; 0: none)'
complete -c imagekeeper -n '__imagekeeper_using simulate; and not __imagekeeper_after_dashdash' -l pull-rate -r -f -d 'bytes pulled per second (default 50MiB)'
complete -c imagekeeper -n '__imagekeeper_using history; and not __imagekeeper_after_dashdash' -l since -r -f -d 'only events since then: an age such as 24h or 7d, or a date/time such as'
complete -c imagekeeper -n '__imagekeeper_using history; and not __imagekeeper_after_dashdash' -l kind -r -f -a 'prepull prune removal' -d 'only prepull, prune or removal events (repeatable)'
complete -c imagekeeper -n '__imagekeeper_using auth login; and not __imagekeeper_after_dashdash' -l registry -r -f -d 'host[:port]; docker.io (or index.docker.io, registry-1.docker.io) is Docker Hub'
complete -c imagekeeper -n '__imagekeeper_using auth login; and not __imagekeeper_after_dashdash' -l username -r -f -d 'the account name'
complete -c imagekeeper -n '__imagekeeper_using auth login; and not __imagekeeper_after_dashdash' -l password-file -r -F -d 'file holding the password or access token (one line), or - to read stdin.'
complete -c imagekeeper -n '__imagekeeper_using auth login; and not __imagekeeper_after_dashdash' -l docker-config -r -f -a '(__fish_complete_directories)'
complete -c imagekeeper -n '__imagekeeper_using auth login; and not __imagekeeper_after_dashdash' -l verify -d 'check the credentials against the registry first; rejected → exit 2, nothing written'
complete -c imagekeeper -n '__imagekeeper_at completion' -a 'bash zsh fish'

# bash completion for imagekeeper 0.1.0. Generated from imagekeeper's command definitions (scripts/build.mjs); do not edit.
# Install: source it, or put it in /usr/share/bash-completion/completions/imagekeeper.
_imagekeeper() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="" w i skip=0 dd=-1 cmd=""
  (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"
  local -a words=()
  # The command words: what is neither an option nor an option's value.
  for (( i = 1; i < COMP_CWORD; i++ )); do
    w="${COMP_WORDS[i]}"
    if (( skip )); then skip=0; continue; fi
    case "$w" in
      --) dd=$i; break ;;
      --assume-usage|--baseline|--capacity|--concurrency|--config|--default-size|--docker-config|--env-file|--flush-interval|--id|--kind|--label|--log-format|--log-level|--metrics-interval|--password-file|--progress-interval|--pull-policy|--pull-rate|--recipe|--ref|--registry|--retries|--role|--run-length|--set|--since|--stall-after|--timeout|--timer|--trace|--ttl|--username|--wait|--write-trace) skip=1 ;;
      -*) ;;
      *) words+=("$w") ;;
    esac
  done
  case "${words[0]}" in
    lease|auth|config) cmd="${words[0]}${words[1]:+ ${words[1]}}" ;;
    *) cmd="${words[0]}" ;;
  esac
  if (( dd > 0 )); then
    case "$cmd" in
      run)
        if (( COMP_CWORD == dd + 1 )); then mapfile -t COMPREPLY < <(compgen -c -- "$cur")
        else compopt -o default 2>/dev/null; COMPREPLY=(); fi ;;
      *) COMPREPLY=() ;;
    esac
    return 0
  fi
  case "$prev" in
    --config) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return 0 ;;
    --log-level) mapfile -t COMPREPLY < <(compgen -W 'trace debug info warn error' -- "$cur"); return 0 ;;
    --log-format) mapfile -t COMPREPLY < <(compgen -W 'human json' -- "$cur"); return 0 ;;
  esac
  case "$cmd:$prev" in
    'env:--recipe') compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return 0 ;;
    'env:--env-file') compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return 0 ;;
    'env:--ref') COMPREPLY=(); return 0 ;;
    'env:--set') COMPREPLY=(); return 0 ;;
    'images:--recipe') compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return 0 ;;
    'images:--env-file') compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return 0 ;;
    'images:--ref') COMPREPLY=(); return 0 ;;
    'images:--set') COMPREPLY=(); return 0 ;;
    'prepull:--recipe') compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return 0 ;;
    'prepull:--env-file') compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return 0 ;;
    'prepull:--ref') COMPREPLY=(); return 0 ;;
    'prepull:--set') COMPREPLY=(); return 0 ;;
    'prepull:--role') COMPREPLY=(); return 0 ;;
    'prepull:--concurrency') COMPREPLY=(); return 0 ;;
    'prepull:--pull-policy') mapfile -t COMPREPLY < <(compgen -W 'auto missing always' -- "$cur"); return 0 ;;
    'prepull:--retries') COMPREPLY=(); return 0 ;;
    'prepull:--timeout') COMPREPLY=(); return 0 ;;
    'prepull:--progress-interval') COMPREPLY=(); return 0 ;;
    'prepull:--stall-after') COMPREPLY=(); return 0 ;;
    'run:--wait') COMPREPLY=(); return 0 ;;
    'lease acquire:--ttl') COMPREPLY=(); return 0 ;;
    'lease acquire:--id') COMPREPLY=(); return 0 ;;
    'lease acquire:--wait') COMPREPLY=(); return 0 ;;
    'lease acquire:--label') COMPREPLY=(); return 0 ;;
    'prune:--assume-usage') COMPREPLY=(); return 0 ;;
    'watch:--flush-interval') COMPREPLY=(); return 0 ;;
    'watch:--metrics-interval') COMPREPLY=(); return 0 ;;
    'simulate:--trace') compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return 0 ;;
    'simulate:--write-trace') compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return 0 ;;
    'simulate:--run-length') COMPREPLY=(); return 0 ;;
    'simulate:--default-size') COMPREPLY=(); return 0 ;;
    'simulate:--capacity') COMPREPLY=(); return 0 ;;
    'simulate:--baseline') mapfile -t COMPREPLY < <(compgen -W 'lru oracle autoprune' -- "$cur"); return 0 ;;
    'simulate:--timer') COMPREPLY=(); return 0 ;;
    'simulate:--pull-rate') COMPREPLY=(); return 0 ;;
    'history:--since') COMPREPLY=(); return 0 ;;
    'history:--kind') mapfile -t COMPREPLY < <(compgen -W 'prepull prune removal' -- "$cur"); return 0 ;;
    'auth login:--registry') COMPREPLY=(); return 0 ;;
    'auth login:--username') COMPREPLY=(); return 0 ;;
    'auth login:--password-file') compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return 0 ;;
    'auth login:--docker-config') compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return 0 ;;
  esac
  local globals='--config --log-level --log-format --quiet --json --help --version' opts=""
  case "$cmd" in
    "") mapfile -t COMPREPLY < <(compgen -W 'env images prepull run lease prune watch simulate status history doctor auth config completion help' -- "$cur")
        [[ "$cur" == -* ]] && mapfile -t COMPREPLY < <(compgen -W "$globals" -- "$cur"); return 0 ;;
    lease) mapfile -t COMPREPLY < <(compgen -W 'acquire release' -- "$cur"); return 0 ;;
    auth) mapfile -t COMPREPLY < <(compgen -W 'login' -- "$cur"); return 0 ;;
    config) mapfile -t COMPREPLY < <(compgen -W 'check' -- "$cur"); return 0 ;;
    help)
      if (( ${#words[@]} == 1 )); then mapfile -t COMPREPLY < <(compgen -W 'env images prepull run lease prune watch simulate status history doctor auth config completion' -- "$cur")
      else case "${words[1]}" in
        lease) mapfile -t COMPREPLY < <(compgen -W 'acquire release' -- "$cur") ;;
        auth) mapfile -t COMPREPLY < <(compgen -W 'login' -- "$cur") ;;
        config) mapfile -t COMPREPLY < <(compgen -W 'check' -- "$cur") ;;
        *) COMPREPLY=() ;;
      esac; fi; return 0 ;;
    'env') opts='--recipe --env-file --ref --chaos --set'
      ;;
    'images') opts='--recipe --env-file --ref --chaos --set'
      ;;
    'prepull') opts='--recipe --env-file --ref --chaos --set --role --concurrency --pull-policy --retries --timeout --progress-interval --stall-after --dry-run'
      ;;
    'run') opts='--wait'
      ;;
    'lease acquire') opts='--ttl --id --wait --label'
      ;;
    'lease release') opts=''
      if [[ "$cur" != -* ]]; then COMPREPLY=(); return 0; fi
      ;;
    'prune') opts='--dry-run --assume-usage'
      ;;
    'watch') opts='--flush-interval --metrics-interval'
      ;;
    'simulate') opts='--trace --from-ledger --write-trace --run-length --default-size --capacity --baseline --timer --pull-rate'
      ;;
    'status') opts=''
      ;;
    'history') opts='--since --kind'
      ;;
    'doctor') opts=''
      ;;
    'auth login') opts='--registry --username --password-file --docker-config --verify'
      ;;
    'config check') opts=''
      ;;
    'completion') opts=''
      if [[ "$cur" != -* ]]; then mapfile -t COMPREPLY < <(compgen -W 'bash zsh fish' -- "$cur"); return 0; fi
      ;;
    *) COMPREPLY=(); return 0 ;;
  esac
  mapfile -t COMPREPLY < <(compgen -W "$opts $globals" -- "$cur")
  return 0
}
complete -F _imagekeeper imagekeeper

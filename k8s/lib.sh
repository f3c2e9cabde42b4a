# Sourced by k8s/apply and k8s/dev: print each command, and run it unless DRY_RUN=1.
DRY_RUN=${DRY_RUN:-}

# run CMD...: print `+ CMD` (shell-quoted), then run it; with DRY_RUN=1 only print it.
run() {
  printf '+'; printf ' %q' "$@"; printf '\n'
  [[ $DRY_RUN == 1 ]] || "$@"
}

# show NOTE CMD...: print `+ CMD   # NOTE` and run nothing: a command that a loop runs quietly.
show() {
  local note=$1
  shift
  printf '+'; printf ' %q' "$@"; printf '   # %s\n' "$note"
}

# present CMD...: run a read-only check; with DRY_RUN=1 print it and answer "no", so the dry run
# also shows the command that would follow a "no" (creating what is missing).
present() {
  if [[ $DRY_RUN == 1 ]]; then
    printf '+'; printf ' %q' "$@"; printf '   # if this fails:\n'
    return 1
  fi
  "$@" >/dev/null 2>&1
}

# Sourced by the tools that act on the compose stack (backup, restore, reset, check-data-secrets),
# from the project's root: their messages, the stack's project name and the confirmation prompt.

TOOL=$(basename "$0")

fail() {
  echo "$TOOL: $*" >&2
  exit 1
}

# The compose project the tools act on, as docker compose sees it: COMPOSE_PROJECT_NAME, else
# the compose file's `name:` (polls).
project=${COMPOSE_PROJECT_NAME:-$(sed -n 's/^name: *//p' docker-compose.yml)}

# confirm WHAT EXPECTED: go on only if the user types EXPECTED (the WHAT, e.g. "database name"),
# or CONFIRM=yes is set for scripts; without a terminal and without CONFIRM, refuse.
confirm() {
  local what=$1 expected=$2 answer
  if [[ ${CONFIRM:-} == yes ]]; then
    echo "Confirmed by CONFIRM=yes."
  elif [[ -t 0 ]]; then
    read -r -p "Type the $what to confirm: " answer
    [[ $answer == "$expected" ]] || fail "'$answer' is not '$expected': nothing was changed."
  else
    fail "no terminal to confirm on: run with CONFIRM=yes to go on without a prompt. Nothing was changed."
  fi
}

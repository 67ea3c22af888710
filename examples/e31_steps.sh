# Shared by examples/e31_voice_clean_chain.sh and examples/e31_variants.sh (sourced): run a
# step once, mark it done, keep a folder cut short aside; the caller sets STEP_LOG.

step() {   # step NAME COMMAND...: run once, log to NAME.log, mark NAME.done (or NAME.failed)
  local name=$1; shift
  [ -e "$name.done" ] && return 0
  rm -f "$name.failed"
  # a run cut short left its folder, which azsim refuses to write into: keep it aside
  [ -e "$name" ] && mv "$name" "$name.cut-$(date -u +%Y%m%dT%H%M%S)"
  echo "$(date -u +%FT%TZ) start $name: $*" >> "$STEP_LOG"
  if ! "$@" > "$name.log" 2>&1; then
    touch "$name.failed"
    echo "$(date -u +%FT%TZ) FAILED $name (see $name.log)" >> "$STEP_LOG"
    return 1
  fi
  touch "$name.done"
  echo "$(date -u +%FT%TZ) done  $name" >> "$STEP_LOG"
}

wait_for() {   # wait for NAME.done; give up when NAME failed (a waiter had hung forever)
  while [ ! -e "$1.done" ]; do
    if [ -e "$1.failed" ]; then
      echo "$(date -u +%FT%TZ) stopped: $1 failed" >> "$STEP_LOG"
      return 1
    fi
    sleep 30
  done
}

# One run per folder: a second start while the first still runs would move its folders
# aside and run every step twice. The lock lasts as long as the shell (and its jobs). A new
# run forgets the failures of the last one (its steps run again), before any job starts.
lock_runs_folder() {   # lock_runs_folder LOCKFILE
  exec 9> "$1"
  if ! flock -n 9; then
    echo "another run holds $(pwd)/$1; wait for it or stop it first" >&2
    exit 2
  fi
  rm -f ./*.failed
}

stop_jobs() {   # on exit: no background step outlives the script, nor its commands
  local pid
  for pid in $(jobs -p); do
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
  done
}

# Carrying a finished step from one machine to the next: a session's machine may not outlive
# it, and E31's chain needs more hours than a session has. A training step finished on an
# earlier machine is committed as carry/e31/NAME.npz (its weights, a sha256 file beside it,
# and its log); a new machine takes it instead of training again. Only weights are carried:
# every corpus is redrawn by its seeded command, and a step's later consumers start from
# NAME/weights.npz exactly as if it had been trained here.
CARRY_DIR=${CARRY_DIR:-$REPO/carry/e31}

carried_file() {   # carried_file NAME: where step NAME leaves its weights
  case $1 in
    soup) echo small6.npz ;;
    sp80soup) echo sp80soup.npz ;;
    *) echo "$1/weights.npz" ;;
  esac
}

carry_in() {   # carry_in NAME: take NAME's committed weights when NAME is not done here
  local name=$1 file
  [ -e "$name.done" ] && return 0
  [ -f "$CARRY_DIR/$name.npz" ] || return 0
  if ! (cd "$CARRY_DIR" && sha256sum --check --quiet "$name.npz.sha256"); then
    echo "$(date -u +%FT%TZ) FAILED carry $name: $CARRY_DIR/$name.npz does not match" \
      "its sha256" >> "$STEP_LOG"
    return 1
  fi
  file=$(carried_file "$name")
  [ -e "$name" ] && mv "$name" "$name.cut-$(date -u +%Y%m%dT%H%M%S)"
  mkdir -p "$(dirname "$file")"
  cp "$CARRY_DIR/$name.npz" "$file"
  cp "$CARRY_DIR/$name.log" "$name.log"
  if [ -f "$CARRY_DIR/$name.train.log.jsonl" ] && [ -d "$name" ]; then
    cp "$CARRY_DIR/$name.train.log.jsonl" "$name/train.log.jsonl"
  fi
  touch "$name.done"
  echo "$(date -u +%FT%TZ) carried $name from $CARRY_DIR (made on an earlier machine)" \
    >> "$STEP_LOG"
}

carry_out() {   # carry_out NAME: copy a step finished here into CARRY_DIR for the next machine
  local name=$1 file
  file=$(carried_file "$name")
  [ -e "$name.done" ] && [ -f "$file" ] || return 1
  mkdir -p "$CARRY_DIR"
  cp "$file" "$CARRY_DIR/$name.npz"
  cp "$name.log" "$CARRY_DIR/$name.log"
  # the run's own log: its first line says what it learned from (corpus, init, config)
  [ -f "$name/train.log.jsonl" ] && cp "$name/train.log.jsonl" "$CARRY_DIR/$name.train.log.jsonl"
  (cd "$CARRY_DIR" && sha256sum "$name.npz" > "$name.npz.sha256")
}

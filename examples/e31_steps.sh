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

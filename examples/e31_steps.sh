# Shared by examples/e31_voice_clean_chain.sh and examples/e31_variants.sh (sourced): run a
# step once, mark it done, keep a folder cut short aside; the caller sets STEP_LOG.

step() {   # step NAME COMMAND...: run once, log to NAME.log, mark NAME.done
  local name=$1; shift
  [ -e "$name.done" ] && return 0
  # a run cut short left its folder, which azsim refuses to write into: keep it aside
  [ -e "$name" ] && mv "$name" "$name.cut-$(date -u +%Y%m%dT%H%M%S)"
  echo "$(date -u +%FT%TZ) start $name: $*" >> "$STEP_LOG"
  "$@" > "$name.log" 2>&1
  touch "$name.done"
  echo "$(date -u +%FT%TZ) done  $name" >> "$STEP_LOG"
}

wait_for() { while [ ! -e "$1.done" ]; do sleep 30; done; }

#!/usr/bin/env bash
# E31 (issue #6; docs/preregistration/2026-12-06-session23.md): the shipped float chain
# retrained without stage 3, whose names corpus heard 11 of the shipped test set's 14 voices
# (README, "Voices the models heard"). Every corpus below uses voice split 0, so no model of
# this chain hears a test or dev voice.
#
#   bash examples/e31_voice_clean_chain.sh RUNS_DIR     (e.g. /work/runs/e31)
#
# Idempotent: each step writes STEP.done when it succeeds and is skipped after, so a run cut
# short (a session's end, a reboot) continues where it stopped when started again; a training
# step cut short starts over from its --init (the recipes' schedules are per run), its folder
# kept aside as NAME.cut-TIME. The corpora
# are drawn one process at a time beside the training chain, which waits for each.
#
# Across machines: a training step finished on an earlier machine and committed under
# carry/e31/ (examples/e31_carry_out.sh) is taken instead of trained again, and a corpus that
# only finished steps needed is not drawn.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)   # before any cd: $0 may be relative
R=${1:?usage: e31_voice_clean_chain.sh RUNS_DIR}
mkdir -p "$R"
cd "$R"

STEP_LOG=chain.log
. "$REPO/examples/e31_steps.sh"
lock_runs_folder .lock
trap stop_jobs EXIT   # no corpus draw outlives a failed chain

# The stage-2 model (commit 313b229): trained on corpora c24 and c40, both voice split 0.
if [ ! -s stage2.npz ]; then   # whole or not at all: an empty file would be a bad --init
  git -C "$REPO" show 313b229:azsim/data/models/small.npz > stage2.npz.tmp
  mv stage2.npz.tmp stage2.npz
fi

# Stage 4 starts from the stage-2 model here; examples/e32_stage3_chain.sh runs this chain
# from its own stage 3 (S4_INIT=s3/weights.npz, CARRY_DIR=carry/e32).
S4_INIT=${S4_INIT:-stage2.npz}

for name in s4 s8 s9 s11 s12 soup; do carry_in "$name"; done

# A step runs unless it is done or every step that starts from it is (a new machine that was
# handed stage 5a's weights does not train stage 4 again).
needed() {   # needed STEP CONSUMER...: STEP is not done and some consumer is not either
  local step=$1 consumer; shift
  [ -e "$step.done" ] && return 1
  for consumer in "$@"; do [ -e "$consumer.done" ] || return 0; done
  return 1
}

CORPUS="azsim corpus --test 0 --names 0 --dev 300 --voice-split-seed 0"
corpora() {   # c5 and c11 serve only stages 4 and 5a; c12, c14, c15 the variants too
  if needed s4 s8; then step c5 $CORPUS c5 --train 40000 --names-train 8000 --seed 5 --grammar 0; fi
  if needed s8 s9; then step c11 $CORPUS c11 --train 24000 --names-train 5000 --random-voices 0.7 --seed 12 --grammar 1 --jobs 1; fi
  step c12 $CORPUS c12 --train 24000 --names-train 5000 --random-voices 0.9 --seed 13 --grammar 1 --jobs 1
  step c14 $CORPUS c14 --train 24000 --names-train 5000 --random-voices 0.9 --seed 15 --grammar 2 --jobs 1
  step c15 $CORPUS c15 --train 24000 --names-train 5000 --random-voices 0.9 --seed 16 --grammar 3 --jobs 1
}
corpora &
CORPORA_PID=$!

TRAIN="azsim train --recipe small-vtlp"
if needed s4 s8; then
  wait_for c5
  step s4  $TRAIN --corpus c5  --out s4  --init "$S4_INIT"       # stage 4 (from stage 2 or 3)
fi
if needed s8 s9; then
  wait_for c11
  step s8  $TRAIN --corpus c11 --out s8  --init s4/weights.npz   # stage 5a
fi
if needed s9 s11 s12 soup; then
  wait_for c12
  step s9  $TRAIN --corpus c12 --out s9  --init s8/weights.npz   # stage 5b
fi
if needed s11 soup; then
  wait_for c14
  step s11 $TRAIN --corpus c14 --out s11 --init s9/weights.npz   # stage 6, round 1
fi
if needed s12 soup; then
  wait_for c15
  step s12 $TRAIN --corpus c15 --out s12 --init s9/weights.npz   # stage 6, round 2
fi
step soup azsim soup small6.npz s9/weights.npz s11/weights.npz s12/weights.npz
wait "$CORPORA_PID"
echo "$(date -u +%FT%TZ) chain complete: $R/small6.npz" >> chain.log

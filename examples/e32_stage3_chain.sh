#!/usr/bin/env bash
# E32 (issue #6; docs/preregistration/2026-12-06-session25.md): E31's chain with the shipped
# chain's stage 3 put back, on voice-split-0 data. E31 (the chain from stage 2, stage 3
# dropped because its names corpus heard 11 of the 14 test voices) missed its ship rule by
# 0.14 points, so its registration called for this longer chain.
#
#   bash examples/e32_stage3_chain.sh RUNS_DIR     (e.g. /work/runs/e32)
#
# Stage 3 as shipped ("How the shipped models were made"): 6 epochs of small-continue at lr
# 3e-4 from the stage-2 model on the stage-2 corpus plus 8,000 requests to training-only
# names, the names now drawn with --voice-split-seed 0. Then E31's chain from stage 4 on, with
# stage 3's model as stage 4's start, in the same folder (its corpora are drawn there, or
# taken when present). Idempotent and carried across machines as E31's chain (CARRY_DIR
# carry/e32: `CARRY_DIR=carry/e32 bash examples/e31_carry_out.sh RUNS_DIR`).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)   # before any cd: $0 may be relative
R=$(cd "${1:?usage: e32_stage3_chain.sh RUNS_DIR}" && pwd)
cd "$R"

export CARRY_DIR=$REPO/carry/e32
STEP_LOG=chain.log
. "$REPO/examples/e31_steps.sh"
lock_runs_folder .stage3-lock   # the chain below holds .lock
trap stop_jobs EXIT

if [ ! -s stage2.npz ]; then   # the stage-2 model (commit 313b229), whole or not at all
  git -C "$REPO" show 313b229:azsim/data/models/small.npz > stage2.npz.tmp
  mv stage2.npz.tmp stage2.npz
fi
carry_in s3

if [ ! -e s3.done ] && [ ! -e s4.done ]; then
  step names azsim corpus names --train 0 --dev 0 --test 0 --names 0 --names-train 8000 --seed 1 --voice-split-seed 0 --jobs 1 &
  step c40 azsim corpus c40 --train 40000 --grammar 0 --voice-split-seed 0 --jobs 1
  wait_for names
  step c48 azsim corpus-merge c48 names c40   # c40's dev set (the last source's)
  step s3 azsim train --recipe small-continue --corpus c48 --out s3 --init stage2.npz --epochs 6 --lr 3e-4
fi

flock -u 9   # the chain takes the folder's other lock
S4_INIT=s3/weights.npz exec bash "$REPO/examples/e31_voice_clean_chain.sh" "$R"

#!/usr/bin/env bash
# E31 across machines: copy the chain's finished training steps that later steps still need
# into carry/e31/ (weights, sha256, log), to be committed, so the next session's machine
# continues the chain (examples/e31_voice_clean_chain.sh takes them) instead of starting over.
# Steps no longer needed (their consumers are done too) are removed from carry/e31/: git keeps
# them in its history.
#
#   bash examples/e31_carry_out.sh RUNS_DIR     (e.g. /work/runs/e31)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
R=$(cd "${1:?usage: e31_carry_out.sh RUNS_DIR}" && pwd)
cd "$R"
STEP_LOG=chain.log
. "$REPO/examples/e31_steps.sh"

needed() {   # needed NAME: NAME is done and some step that starts from it is not
  local name=$1 consumer
  [ -e "$name.done" ] || return 1
  case $name in
    s3) set -- s4 ;;   # E32's stage 3 (examples/e32_stage3_chain.sh, CARRY_DIR=carry/e32)
    s4) set -- s8 ;;
    s8) set -- s9 ;;
    s9) set -- s11 s12 soup ;;
    s11|s12) set -- soup ;;
    sp80u) set -- sp80ur ;;
    sp80ur) set -- sp80ur2 sp80soup ;;
    sp80ur2) set -- sp80ur3 sp80soup ;;
    sp80ur3) set -- sp80soup ;;
    soup|q12|sp80soup) return 0 ;;   # E31's products (small6.npz, the variants): carried until
                                     # they ship; examples/e31_variants.sh starts from small6.npz
  esac
  for consumer in "$@"; do [ -e "$consumer.done" ] || return 0; done
  return 1
}

for name in s3 s4 s8 s9 s11 s12 soup q12 sp80u sp80ur sp80ur2 sp80ur3 sp80soup; do
  if needed "$name"; then
    carry_out "$name"
    echo "carried out $name: $CARRY_DIR/$name.npz"
  else
    rm -f "$CARRY_DIR/$name.npz" "$CARRY_DIR/$name.npz.sha256" "$CARRY_DIR/$name.log" \
      "$CARRY_DIR/$name.train.log.jsonl"
  fi
done

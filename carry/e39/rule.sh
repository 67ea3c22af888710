#!/bin/bash
# E39's rule: soups once round 2 is done, then pooled WER over the three dev-voice sets
. /work/venv/bin/activate
cd /work/runs/e39
export NUMBA_NUM_THREADS=1
ev() { n=$1; shift; azsim eval "$@" --test /work/runs/dv31/dev.npz --test /work/runs/d22/dev.npz --test /work/runs/d23/dev.npz --json ${n}_pool.json > ${n}_pool.log 2>&1; }
while [ "$(cat e39.status 2>/dev/null)" != done ]; do sleep 15; done
while [ ! -f ev2.status ]; do sleep 15; done
azsim soup S4.npz /work/runs/e36/wr4/weights.npz /work/runs/e38/wr4s1/weights.npz wr4s2/weights.npz wr4s3/weights.npz > S4.log 2>&1
azsim soup --model small Q3.npz /work/runs/e35/qcw/weights.npz qcws1/weights.npz qcws2/weights.npz > Q3.log 2>&1
ev S4 --weights /work/runs/e39/S4.npz --gptq &
ev Q3 --weights /work/runs/e39/Q3.npz --bits 4 --gptq &
wait
echo candidates > rule.status
ev Q3_plain --weights /work/runs/e39/Q3.npz --bits 4 &
ev qcws2 --weights /work/runs/e39/qcws2/weights.npz --bits 4 &
wait
ev wr4s3 --weights /work/runs/e39/wr4s3/weights.npz --gptq
echo done > rule.status

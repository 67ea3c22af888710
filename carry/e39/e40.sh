#!/bin/bash
# E40 (diagnostic, ships nothing): each seed on the shipped test set and tv30
. /work/venv/bin/activate
cd /work/runs/e39
export NUMBA_NUM_THREADS=1
R=/work/runs/rm; T=/work/runs/tv30/test.npz
one() { n=$1; w=$2; shift 2
  azsim eval --weights $w "$@" --compare-float $R/e8.json --json e40_${n}_test.json > e40_${n}_test.txt 2>&1
  azsim eval --weights $w "$@" --test $T --compare-float $R/tvf.json --json e40_${n}_tv.json > e40_${n}_tv.txt 2>&1; }
one qcw /work/runs/e35/qcw/weights.npz --bits 4 &
one qcws1 qcws1/weights.npz --bits 4 &
wait
one qcws2 qcws2/weights.npz --bits 4 &
one wr4 /work/runs/e36/wr4/weights.npz --gptq &
wait
one wr4s1 /work/runs/e38/wr4s1/weights.npz --gptq &
one wr4s2 wr4s2/weights.npz --gptq &
wait
one wr4s3 wr4s3/weights.npz --gptq
echo done > e40.status

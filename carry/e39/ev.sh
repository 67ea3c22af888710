#!/bin/bash
# E39's rule measurements: pooled WER over the three dev-voice sets
. /work/venv/bin/activate
cd /work/runs/e39
export NUMBA_NUM_THREADS=1
ev() { n=$1; shift; azsim eval "$@" --test /work/runs/dv31/dev.npz --test /work/runs/d22/dev.npz --test /work/runs/d23/dev.npz --json ${n}_pool.json > ${n}_pool.log 2>&1; }
ev S2 --weights /work/runs/e39/S2.npz --gptq
ev qcw_gptq --weights small-qat4 --bits 4 --gptq
echo s2 > ev.status

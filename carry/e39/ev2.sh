#!/bin/bash
. /work/venv/bin/activate
cd /work/runs/e39
export NUMBA_NUM_THREADS=1
ev() { n=$1; shift; azsim eval "$@" --test /work/runs/dv31/dev.npz --test /work/runs/d22/dev.npz --test /work/runs/d23/dev.npz --json ${n}_pool.json > ${n}_pool.log 2>&1; }
ev wr4s2 --weights /work/runs/e39/wr4s2/weights.npz --gptq
echo done > ev2.status

#!/bin/bash
. /work/venv/bin/activate
cd /work/runs/e42
azsim train --recipe small-sparse80-global-recover-ctcwarm --corpus /work/runs/e32/c16 --out /work/runs/e42/r6c16 --init /work/runs/e42/S5.npz --epochs 2 --threads 1 > r6c16.log 2>&1 &
azsim train --recipe small-qat4-continue-ctcwarm --corpus /work/runs/e32/c12 --out /work/runs/e42/q4c12 --init /work/runs/e39/Q3.npz --threads 1 > q4c12.log 2>&1 &
wait
echo trained > e42.status
export NUMBA_NUM_THREADS=1
ev() { n=$1; shift; azsim eval "$@" --test /work/runs/dv31/dev.npz --test /work/runs/d22/dev.npz --test /work/runs/d23/dev.npz --json ${n}_pool.json > ${n}_pool.log 2>&1; }
ev r6c16 --weights /work/runs/e42/r6c16/weights.npz --gptq &
ev q4c12 --weights /work/runs/e42/q4c12/weights.npz --bits 4 &
wait
echo done > e42.status

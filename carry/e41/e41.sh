#!/bin/bash
. /work/venv/bin/activate
cd /work/runs/e41
R=small-sparse80-global-recover-ctcwarm
azsim train --recipe $R --corpus /work/runs/e32/c12 --out /work/runs/e41/r5c12 --init /work/runs/e39/S4.npz --epochs 2 --threads 1 > r5c12.log 2>&1 &
azsim train --recipe $R --corpus /work/runs/e32/c10 --out /work/runs/e41/r5c10 --init /work/runs/e39/S4.npz --epochs 2 --threads 1 > r5c10.log 2>&1 &
wait
echo trained > e41.status
export NUMBA_NUM_THREADS=1
for n in r5c12 r5c10; do
  azsim eval --weights /work/runs/e41/$n/weights.npz --gptq --test /work/runs/dv31/dev.npz --test /work/runs/d22/dev.npz --test /work/runs/d23/dev.npz --json ${n}_pool.json > ${n}_pool.log 2>&1 &
done
wait
echo done > e41.status

#!/bin/bash
. /work/venv/bin/activate
cd /work/runs/e38
azsim train --recipe small-sparse80-global-recover --corpus /work/runs/e32/c11 --out /work/runs/e38/nw4 --init /work/runs/e32/sp80soup.npz --epochs 2 --threads 1 > nw4.log 2>&1 &
azsim train --recipe small-sparse80-global-recover-ctcwarm --corpus /work/runs/e32/c11 --out /work/runs/e38/wr4s1 --init /work/runs/e32/sp80soup.npz --epochs 2 --threads 1 --seed 1 > wr4s1.log 2>&1 &
wait
for n in nw4 wr4s1; do
  azsim eval --weights /work/runs/e38/$n/weights.npz --gptq --test /work/runs/dv31/dev.npz --test /work/runs/d22/dev.npz --test /work/runs/d23/dev.npz --json ${n}_pool.json > ${n}_pool.log 2>&1 &
done
wait
echo done > e38.status

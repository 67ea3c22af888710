#!/bin/bash
. /work/venv/bin/activate
cd /work/runs/e37
azsim train --recipe small-qat4-continue-ctcwarm --corpus /work/runs/e32/c11 --out /work/runs/e37/qc11 --init /work/runs/e37/qcw_init.npz --threads 1 > qc11.log 2>&1 &
azsim train --recipe small-qat4-continue-ctcwarm --corpus /work/runs/e32/c12 --out /work/runs/e37/qc12 --init /work/runs/e37/qcw_init.npz --threads 1 > qc12.log 2>&1 &
wait
for n in qc11 qc12; do
  azsim eval --weights /work/runs/e37/$n/weights.npz --bits 4 --test /work/runs/dv31/dev.npz --test /work/runs/d22/dev.npz --test /work/runs/d23/dev.npz --json ${n}_pool.json > ${n}_pool.log 2>&1 &
done
wait
echo done > e37.status

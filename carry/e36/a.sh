#!/bin/bash
. /work/venv/bin/activate
cd /work/runs/e36
R=small-sparse80-global-recover-ctcwarm
azsim train --recipe $R --corpus /work/runs/e32/c12 --out /work/runs/e36/wr1 --init /work/runs/e32/sp80u/weights.npz --epochs 2 --threads 1 > wr1.log 2>&1 || exit 1
azsim train --recipe $R --corpus /work/runs/e32/c10 --out /work/runs/e36/wr2 --init /work/runs/e36/wr1/weights.npz --epochs 2 --threads 1 > wr2.log 2>&1 || exit 1
azsim train --recipe $R --corpus /work/runs/e32/c16 --out /work/runs/e36/wr3 --init /work/runs/e36/wr2/weights.npz --epochs 2 --threads 1 > wr3.log 2>&1 || exit 1
azsim soup /work/runs/e36/wsoup.npz wr1/weights.npz wr2/weights.npz wr3/weights.npz > wsoup.log 2>&1
echo done > a.status

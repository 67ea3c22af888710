#!/bin/bash
. /work/venv/bin/activate
cd /work/runs/e36
azsim train --recipe small-sparse80-global-recover-ctcwarm --corpus /work/runs/e32/c11 --out /work/runs/e36/wr4 --init /work/runs/e32/sp80soup.npz --epochs 2 --threads 1 > wr4.log 2>&1 || exit 1
cd /work/runs/e32
azsim soup /work/runs/e36/wsoup4.npz sp80ur/weights.npz sp80ur2/weights.npz sp80ur3/weights.npz /work/runs/e36/wr4/weights.npz > /work/runs/e36/wsoup4.log 2>&1
echo done > /work/runs/e36/b.status

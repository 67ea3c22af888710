#!/bin/bash
. /work/venv/bin/activate
cd /work/runs/e39
R80=small-sparse80-global-recover-ctcwarm
RQ=small-qat4-gptq-mse-acos50-ctcwarm
azsim train --recipe $R80 --corpus /work/runs/e32/c11 --out /work/runs/e39/wr4s2 --init /work/runs/e32/sp80soup.npz --epochs 2 --threads 1 --seed 2 > wr4s2.log 2>&1 &
azsim train --recipe $RQ --corpus /work/runs/o44 --out /work/runs/e39/qcws1 --init /work/runs/e32/small6.npz --threads 1 --seed 1 > qcws1.log 2>&1 &
wait
echo round1 > e39.status
azsim train --recipe $R80 --corpus /work/runs/e32/c11 --out /work/runs/e39/wr4s3 --init /work/runs/e32/sp80soup.npz --epochs 2 --threads 1 --seed 3 > wr4s3.log 2>&1 &
azsim train --recipe $RQ --corpus /work/runs/o44 --out /work/runs/e39/qcws2 --init /work/runs/e32/small6.npz --threads 1 --seed 2 > qcws2.log 2>&1 &
wait
echo done > e39.status

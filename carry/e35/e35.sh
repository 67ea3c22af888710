#!/bin/bash
. /work/venv/bin/activate
cd /work/runs/e35
azsim train --recipe small-qat4-gptq-mse-acos50-ctcwarm --corpus /work/runs/o44 --out /work/runs/e35/qcw --init /work/runs/e32/small6.npz --threads 1 > qcw.log 2>&1 &
azsim train --recipe small-qat4-gptq-mse-acos50-noctc --corpus /work/runs/o44 --out /work/runs/e35/qnc --init /work/runs/e32/small6.npz --threads 1 > qnc.log 2>&1 &
wait
echo done > e35.status

#!/usr/bin/env bash
# E34 (docs/preregistration/2026-12-07-session28.md): two regularizer strengths side by side.
set -uo pipefail
. /work/venv/bin/activate
cd /work/runs/e33
for a in 5 50; do
  ( azsim train --recipe small-qat4-gptq-mse-acos$a --corpus /work/runs/o44 --out /work/runs/e33/qa$a --init /work/runs/e32/small6.npz --threads 1 > qa$a.log 2>&1; echo "qa$a rc=$?" >> e34.status ) &
done
wait

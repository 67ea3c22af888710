#!/usr/bin/env bash
# E33 (docs/preregistration/2026-12-07-session28.md): the two candidates side by side.
set -uo pipefail
. /work/venv/bin/activate
cd /work/runs/e33
( azsim train --recipe small-qat4-gptq --corpus /work/runs/o44 --out /work/runs/e33/q13 --init /work/runs/e32/small6.npz --threads 1 > q13.log 2>&1; echo "q13 rc=$?" >> e33.status ) &
( azsim train --recipe small-sparse80-global-recover --corpus /work/runs/e32/c11 --out /work/runs/e33/sp80ur4 --init /work/runs/e32/sp80ur3/weights.npz --epochs 2 --threads 1 > sp80ur4.log 2>&1; echo "sp80ur4 rc=$?" >> e33.status ) &
wait

#!/bin/bash
. /work/venv/bin/activate
cd /work/runs/e35
while [ ! -f e35.status ]; do sleep 10; done
for w in qa50:/work/runs/e33/qa50/weights.npz qnc:/work/runs/e35/qnc/weights.npz qcw:/work/runs/e35/qcw/weights.npz; do
  n=${w%%:*}; f=${w#*:}
  azsim eval --weights $f --bits 4 --test /work/runs/dv31/dev.npz --test /work/runs/d22/dev.npz --test /work/runs/d23/dev.npz --json ${n}_pool.json > ${n}_pool.log 2>&1
done
echo done > rule.status

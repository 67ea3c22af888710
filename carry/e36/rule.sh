#!/bin/bash
# E36's rule: pooled WER over the three dev-voice sets with --gptq; run as candidates appear
. /work/venv/bin/activate
cd /work/runs/e36
ev() { azsim eval --weights $2 --gptq --test /work/runs/dv31/dev.npz --test /work/runs/d22/dev.npz --test /work/runs/d23/dev.npz --json $1_pool.json > $1_pool.log 2>&1; }
ev shipped80 small-sparse80
while [ ! -f b.status ]; do sleep 20; done
ev wr4 /work/runs/e36/wr4/weights.npz
ev wsoup4 /work/runs/e36/wsoup4.npz
echo b > rule_b.status
while [ ! -f a.status ]; do sleep 20; done
ev wsoup /work/runs/e36/wsoup.npz
echo done > rule.status

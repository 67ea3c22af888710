set -x
. /work/venv/bin/activate
R=/work/runs/rm; T=/work/runs/tv30/test.npz; D=/work/runs/dv31/dev.npz
azsim eval --weights small-sparse80 --gptq --compare-float $R/e8.json --json s80.json > s80.txt 2>&1
azsim eval --weights small-sparse80 --gptq --test $T --compare-float $R/tvf.json --json tvs80.json > tvs80.txt 2>&1
azsim eval --weights small-sparse80 --gptq --test $D --compare-float $R/dvf.json --json dvs80.json > dvs80.txt 2>&1
azsim sweep --test test --utterances 100 --set model.weights=small-sparse80 --set model.weight_bits=8,4 --set model.weight_format=bitmask --set hw.decoder_location=sram_to_pe --results s80sweep.sqlite -j 1 > s80sweep.txt 2>&1
azsim report s80sweep.sqlite > s80sweep_report.txt 2>&1
python /work/main/examples/accuracy_table.py --json acc.json > acc.txt 2>&1
echo done

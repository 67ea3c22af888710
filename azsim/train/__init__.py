"""Training the RNN-T with PyTorch on the CPU (optional extra: ``pip install "azsim[train]"``).

Nothing in the simulator imports this package: inference, compression and costing run on
NumPy/Numba only. Training exists to make the shipped models (issue #6) reproducible:

* :mod:`.loss` - the RNN-T loss (Graves 2012) written in torch, checked against a brute-force
  sum over alignments;
* :mod:`.model` - a torch twin of azsim's float model (same stacking, LSTMP layers, time
  reduction, prediction network and joint), exported to the ``.npz`` weights schema;
* :mod:`.compress` - quantization-aware training (straight-through fake quantization on
  azsim's own per-channel grid, plus an absolute-cosine regularizer that pulls weights onto
  that grid) and gradual magnitude pruning (Zhu & Gupta 2017);
* :mod:`.data` - the synthetic corpus, length-bucketed batches and SpecAugment;
* :mod:`.loop` - the training loop with checkpoints and a log.
"""

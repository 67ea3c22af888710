"""Integer log-softmax of the joint network's logits: the scores of a beam search (issue #7).

Greedy decoding only needs the argmax of the logits; a beam search compares hypotheses, so it
needs log-probabilities. Integer hardware computes them with the same table-plus-interpolation
unit that serves sigmoid and tanh (``lut.py``):

* logits ``l_v`` are int32 at scale 2^-F (F = ``frac_bits``; natural-log units, nats);
* ``d_v = max(l) - l_v >= 0``; ``exp(-d_v)`` in Q0.15 from a 513-entry table over [0, 16]
  nats (step 1/32 nat = 2^(F-5) logit units), interpolated linearly; ``d_v`` beyond the table
  contributes 0 (exp(-11.1) is already below half an LSB);
* ``S = sum_v exp(-d_v)`` (int64, >= 2^15 because the largest logit contributes exactly 1);
* ``ln(S 2^-15)`` = ln(mantissa) + (n - 15) ln 2, with ``n`` the index of S's top bit and the
  mantissa ``S >> (n - 15)`` in [1, 2) (Q1.15), its ln from a 257-entry table over [1, 2]
  (Q.20, interpolated);
* ``logp_v = l_v - max(l) - round(ln S)`` at scale 2^-F, always <= 0, saturated at int32's
  minimum: the unit writes int32 log-probabilities (what ``azsim.decode.scores`` charges), and
  a difference of two int32 logits can reach -(2^32 - 1). A saturated entry is below -2^21
  nats at F = 10, a token no search keeps.

The worst-case error against float64 is about 2e-3 nats at F = 10 (measured in
``tests/test_decode_beam.py``), below the logits' own resolution of 1e-3 nats.
"""
import numpy as np

from .jit import jit

EXP_TABLE_ENTRIES = 513        # exp(-x) for x = 0, 1/32, ..., 16 nats
EXP_STEP_LOG2_PER_NAT = 5      # table step 2^-5 nat
LN_TABLE_ENTRIES = 257         # ln(1 + i/256), i = 0..256
LN_INDEX_SHIFT = 7             # Q1.15 mantissa: 8 index bits + 7 interpolation bits
LN_FRAC_BITS = 20              # the ln table and ln 2 in Q.20
LN2_Q20 = 726817               # round(ln(2) * 2^20)
LOGP_MIN = -(1 << 31)          # int32's minimum: log-probabilities are written as int32


@jit
def log_softmax_q(logits, frac_bits, exp_table, ln_table, out):
    """Writes ``out[v] = logits[v] - max - ln(sum exp(logits - max))`` (scale 2^-frac_bits,
    saturated at -2^31, into an int64 array) and returns the table lookups made (exp lookups
    plus one ln lookup).

    ``frac_bits`` must be in [5, 20]; ``exp_table`` has 513 Q0.15 entries, ``ln_table`` 257
    Q.20 entries (built in ``azsim.decode.scores``); ``logits`` must not be empty (it reads
    ``logits[0]`` unchecked; the schema's vocab_size >= 2 guarantees it).
    """
    n = logits.shape[0]
    m = np.int64(logits[0])
    for v in range(1, n):
        if logits[v] > m:
            m = np.int64(logits[v])
    shift = frac_bits - EXP_STEP_LOG2_PER_NAT
    limit = np.int64(exp_table.shape[0] - 1) << shift
    frac_mask = (np.int64(1) << shift) - 1
    half = (np.int64(1) << shift) >> 1
    total = np.int64(0)
    lookups = 0
    for v in range(n):
        d = m - np.int64(logits[v])
        if d >= limit:
            continue
        idx = d >> shift
        a = np.int64(exp_table[idx])
        b = np.int64(exp_table[idx + 1])
        total += a + (((b - a) * (d & frac_mask) + half) >> shift)
        lookups += 1
    top = 0
    t = total
    while t > 1:
        t >>= 1
        top += 1
    mant = total >> (top - 15)                 # Q1.15 in [2^15, 2^16)
    u = mant - 32768
    idx = u >> LN_INDEX_SHIFT
    a = np.int64(ln_table[idx])
    b = np.int64(ln_table[idx + 1])
    ln_q20 = a + (((b - a) * (u & ((1 << LN_INDEX_SHIFT) - 1)) + (1 << (LN_INDEX_SHIFT - 1)))
                  >> LN_INDEX_SHIFT)
    ln_q20 += np.int64(top - 15) * LN2_Q20
    drop = LN_FRAC_BITS - frac_bits
    log_sum = (ln_q20 + ((np.int64(1) << drop) >> 1)) >> drop
    for v in range(n):
        x = np.int64(logits[v]) - m - log_sum
        out[v] = x if x > LOGP_MIN else LOGP_MIN
    return lookups + 1

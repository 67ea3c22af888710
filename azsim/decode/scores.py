"""Fixed-point scores of the search: log-probabilities in Q.10 nats (issue #7).

Every score in ``azsim.decode`` is an integer at the scale of the joint network's logits,
2^-LOGIT_FRAC_BITS natural-log units (1/1024 nat): the model's log-probabilities come from the
integer log-softmax kernel (``azsim.kernels.log_softmax_q``), biasing bonuses are converted
once to the same scale, and sums stay exact Python integers. Reports convert to nats.
"""
from __future__ import annotations

import numpy as np

from .. import kernels as K
from ..compress.ptq import LOGIT_FRAC_BITS
from ..execute.events import EventLog
from ..kernels.softmax import (EXP_STEP_LOG2_PER_NAT, EXP_TABLE_ENTRIES, LN_FRAC_BITS,
                               LN_TABLE_ENTRIES)

SCORE_FRAC_BITS = LOGIT_FRAC_BITS
SCORE_UNITS_PER_NAT = 1 << SCORE_FRAC_BITS


def _exp_table() -> np.ndarray:
    x = np.arange(EXP_TABLE_ENTRIES) / float(1 << EXP_STEP_LOG2_PER_NAT)
    return np.rint(np.exp(-x) * (1 << 15)).astype(np.int32)     # Q0.15; entry 0 = 2^15


def _ln_table() -> np.ndarray:
    x = 1.0 + np.arange(LN_TABLE_ENTRIES) / float(LN_TABLE_ENTRIES - 1)
    return np.rint(np.log(x) * (1 << LN_FRAC_BITS)).astype(np.int32)


EXP_TABLE = _exp_table()
LN_TABLE = _ln_table()
EXP_TABLE.flags.writeable = False
LN_TABLE.flags.writeable = False


def nats_to_q(nats: float) -> int:
    """A score in nats as a fixed-point integer (round to nearest)."""
    return int(round(nats * SCORE_UNITS_PER_NAT))


def q_to_nats(q: int) -> float:
    return q / SCORE_UNITS_PER_NAT


def log_softmax(logits: np.ndarray, out: np.ndarray) -> int:
    """Integer log-probabilities of int32 ``logits`` into int64 ``out`` (values within
    int32, as the unit writes them); returns lookups."""
    return int(K.log_softmax_q(logits, SCORE_FRAC_BITS, EXP_TABLE, LN_TABLE, out))


def charge_log_softmax(log: EventLog, frame: int, n_vocab: int, lookups: int) -> None:
    """The softmax runs on the joint's output unit, so it is charged to ``joint.out``: the
    int32 logits are read, the table unit makes ``lookups`` interpolated lookups, and int32
    log-probabilities are written back (the search reads them from SRAM; the kernel saturates
    them to int32, ``kernels.softmax.LOGP_MIN``)."""
    log.add("joint.out", frame, act_read_bytes=4 * n_vocab, act_write_bytes=4 * n_vocab,
            lut_lookups=lookups)

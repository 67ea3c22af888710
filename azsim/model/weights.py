"""RNN-T weights: the ``.npz`` schema, deterministic generation, loading with validation.

Schema (format version 1). All arrays float32; ``H`` LSTM units, ``D`` layer output width
(projection size if the layer projects, else ``H``); gate rows ordered i, f, g, o:

=========================  ==================  ============================================
array                      shape               meaning
=========================  ==================  ============================================
``format_version``         ()  int64           1
``frontend.mean``          (n_mels,)           log-mel mean, subtracted before stacking
``frontend.std``           (n_mels,)           log-mel standard deviation, divided by
``enc.{l}.w_x``            (4H, I_l)           input weights of encoder layer l (0-based)
``enc.{l}.w_r``            (4H, D)             recurrent weights (acting on the output r)
``enc.{l}.b``              (4H,)               gate bias
``enc.{l}.w_p``            (P, H)              projection (only if ``projection > 0``)
``pred.embed``             (V, E)              label embedding; row 0 (blank) is the start
``pred.{l}.w_x|w_r|b|w_p`` as above            prediction-network LSTM layer l
``joint.w_enc``            (J, D_enc)          joint projection of the encoder output
``joint.b``                (J,)                joint hidden bias
``joint.w_pred``           (J, D_pred)         joint projection of the prediction output
``joint.w_out``            (V, J)              output layer to the vocabulary (+ blank)
``joint.b_out``            (V,)                output bias
=========================  ==================  ============================================

``I_0 = stack_frames * n_mels``; after time reduction the next layer's input is
``time_reduction_factor * D`` (consecutive outputs concatenated, as in He et al. 2019).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import WeightsError, as_called, named, quoted
from ..npzfile import read_npz
from ..paths import path_kind

FORMAT_VERSION = 1


def _lstm_shapes(prefix: str, n_in: int, hidden: int, projection: int) -> dict:
    d_out = projection or hidden
    shapes = {f"{prefix}.w_x": (4 * hidden, n_in), f"{prefix}.w_r": (4 * hidden, d_out),
              f"{prefix}.b": (4 * hidden,)}
    if projection:
        shapes[f"{prefix}.w_p"] = (projection, hidden)
    return shapes


def encoder_input_dims(cfg) -> list[int]:
    """Input width of each encoder layer."""
    enc = cfg.encoder
    d_out = enc.projection or enc.hidden
    dims = [enc.stack_frames * cfg.frontend.n_mels]
    for layer in range(1, enc.lstm_layers):
        reduced = enc.time_reduction_after == layer and enc.time_reduction_factor > 1
        dims.append(d_out * (enc.time_reduction_factor if reduced else 1))
    return dims


def expected_shapes(cfg) -> dict[str, tuple]:
    """Array name -> shape for a ModelConfig (the schema above)."""
    shapes: dict[str, tuple] = {"frontend.mean": (cfg.frontend.n_mels,),
                                "frontend.std": (cfg.frontend.n_mels,)}
    enc, pred = cfg.encoder, cfg.prediction
    for layer, n_in in enumerate(encoder_input_dims(cfg)):
        shapes.update(_lstm_shapes(f"enc.{layer}", n_in, enc.hidden, enc.projection))
    shapes["pred.embed"] = (cfg.vocab_size, pred.embedding_dim)
    n_in = pred.embedding_dim
    for layer in range(pred.lstm_layers):
        shapes.update(_lstm_shapes(f"pred.{layer}", n_in, pred.hidden, pred.projection))
        n_in = pred.projection or pred.hidden
    d_enc, d_pred = enc.projection or enc.hidden, pred.projection or pred.hidden
    j = cfg.joint.hidden
    shapes.update({"joint.w_enc": (j, d_enc), "joint.b": (j,), "joint.w_pred": (j, d_pred),
                   "joint.w_out": (cfg.vocab_size, j), "joint.b_out": (cfg.vocab_size,)})
    return shapes


def parameter_count(cfg) -> int:
    """Trainable parameters (the frontend normalization is not counted)."""
    return int(sum(np.prod(s) for name, s in expected_shapes(cfg).items()
                   if not name.startswith("frontend.")))


def generate_weights(cfg, frontend_mean=None, frontend_std=None) -> dict[str, np.ndarray]:
    """Deterministic untrained weights from ``cfg.seed``.

    Uniform(-1/sqrt(fan), 1/sqrt(fan)) as PyTorch initializes LSTM and linear layers (fan =
    hidden size for LSTM gates, input width for linear layers); embeddings N(0, 1). Arrays are
    drawn in schema order from one generator, so the same seed always gives the same model.
    """
    rng = np.random.default_rng(cfg.seed)
    out: dict[str, np.ndarray] = {}
    for name, shape in expected_shapes(cfg).items():
        if name.startswith("frontend."):
            continue
        if name == "pred.embed":
            out[name] = rng.standard_normal(shape, dtype=np.float32)
            continue
        layer_hidden = cfg.encoder.hidden if name.startswith("enc.") else cfg.prediction.hidden
        is_lstm = name.split(".")[-1] in ("w_x", "w_r", "b") and not name.startswith("joint")
        fan = layer_hidden if is_lstm else shape[-1] if len(shape) == 2 else shape[0]
        bound = np.float32(1.0 / np.sqrt(fan))
        out[name] = rng.uniform(-bound, bound, size=shape).astype(np.float32)
    n_mels = cfg.frontend.n_mels
    out["frontend.mean"] = (np.zeros(n_mels, np.float32) if frontend_mean is None
                            else np.asarray(frontend_mean, np.float32))
    out["frontend.std"] = (np.ones(n_mels, np.float32) if frontend_std is None
                           else np.asarray(frontend_std, np.float32))
    return out


def save_weights(path, arrays: dict[str, np.ndarray], compressed: bool = False) -> None:
    """Write the ``.npz`` schema; ``compressed`` deflates it (as the shipped models are)."""
    data = {k: np.asarray(v, np.float32) for k, v in arrays.items()}
    data["format_version"] = np.array(FORMAT_VERSION, np.int64)
    (np.savez_compressed if compressed else np.savez)(path, **data)


def average_weights(paths, cfg) -> dict[str, np.ndarray]:
    """A weight soup (Wortsman et al., ICML 2022): the element-wise mean of several
    fine-tunes of one model, each loaded and validated against ``cfg`` (summed in float64,
    returned as float32). Averaging helps only for models fine-tuned from one parent."""
    paths = list(paths)
    if len(paths) < 2:
        raise WeightsError(f"a soup needs at least two weights files, got {len(paths)}")
    loaded = [load_weights(p, cfg) for p in paths]
    return {k: (sum(w[k].astype(np.float64) for w in loaded) / len(loaded)).astype(np.float32)
            for k in loaded[0]}


ENCODER_PREFIX = "enc."


def is_encoder_only(arrays: dict[str, np.ndarray]) -> bool:
    """A cheap-branch file: the encoder's arrays and nothing else (the branching encoder takes
    only those; the prediction and joint networks are the full model's)."""
    return bool(arrays) and all(k.startswith(ENCODER_PREFIX) for k in arrays)


# ---- magnitude bounds ------------------------------------------------------------------------
# Weights that are finite can still be impossible to run in integers. The integer model
# (compress/ptq.py) requantizes each matrix product with a multiplier from
# compress/quantize.py's quantize_multiplier, which refuses a real scale >= 2^30 ("requantization
# scale too large"). That scale is in_scale * w_scale * GATE_SCALE, with GATE_SCALE = 2^12,
# in_scale = max|input| / 127 (activation_scale) and w_scale = max|row| / qmax, qmax = 1 at 1
# and 2 bits (the worst case: --bits can change after loading; codebook, gptq and clipped
# (model.weight_range = "mse") scales are never larger). So every product needs
# max|input| * max|w| < 127 * 2^30 / 2^12 = 127 * 2^18;
# we ask for half of that, room for float32 rounding and the multiplier's round-up carry:
REQUANT_PRODUCT_LIMIT = 127.0 * 2.0 ** 17
# The inputs a product can see, whatever the audio: an LSTM output h = o * tanh(c) lies in
# [-1, 1]; a projection r = w_p h of H cells reaches H * max|w_p|; an embedding row max|embed|.
# A matrix fed by a projection (the next layer, the recurrence, the joint network) therefore
# needs H * W^2 < REQUANT_PRODUCT_LIMIT, and one fed by the embedding W^2 < REQUANT_PRODUCT_LIMIT:
# see weight_magnitude_bound (255 for small, 90 for he2019, 4080 for the projection-free tiny).
# Trained weights are O(1): the shipped ones stay below 4. The encoder's first layer sees the
# normalized log-mel features instead, which bounds frontend.std from below (_check_frontend).


def weight_magnitude_bound(cfg) -> float:
    """The largest |weight| (any array but the frontend's) for which every requantization
    scale of the integer model stays in range, whatever the audio (see the comment above)."""
    widest = max([1] + [s.hidden for s in (cfg.encoder, cfg.prediction) if s.projection])
    return math.sqrt(REQUANT_PRODUCT_LIMIT / widest)


def _feature_span(cfg) -> tuple[float, float]:
    """Bounds of the log-mel features of audio in [-1, 1]: ln(log_floor) below, and above
    ln(n_fft * window samples): by Parseval a filter (weights <= 1) sums at most the frame's
    whole power, n_fft * sum (x * window)^2 <= n_fft * window samples."""
    from .loading import frontend_spec   # loading imports this module
    spec = frontend_spec(cfg)
    return math.log(spec.log_floor), math.log(spec.n_fft * spec.window_samples)


def _check_frontend(arrays: dict[str, np.ndarray], cfg) -> list[str]:
    """frontend.std divides the features: it must be > 0, and large enough that the normalized
    features (log-mel - mean) / std times enc.0.w_x stay within REQUANT_PRODUCT_LIMIT."""
    std = arrays["frontend.std"].astype(np.float64)
    if not np.all(std > 0):
        bad = np.flatnonzero(std <= 0)
        return [f"frontend.std is {std[bad[0]]:g} in channel {int(bad[0])} ({bad.size} of "
                f"{std.size} channels <= 0); it divides the features, every value must be > 0"]
    w0 = float(np.max(np.abs(arrays["enc.0.w_x"]), initial=0.0))
    if w0 == 0:
        return []
    lo, hi = _feature_span(cfg)
    mean = arrays["frontend.mean"].astype(np.float64)
    reach = np.maximum(np.abs(lo - mean), np.abs(hi - mean)) / std   # max |normalized feature|
    allowed = REQUANT_PRODUCT_LIMIT / w0
    bad = np.flatnonzero(reach >= allowed)
    if bad.size == 0:
        return []
    c = int(bad[np.argmax(reach[bad])])
    return [f"frontend.mean {mean[c]:.3g} and frontend.std {std[c]:.3g} (channel {c}; "
            f"{bad.size} channels like it) scale log-mel features ({lo:.1f}..{hi:.1f}) up to "
            f"{reach[c]:.3g}; with enc.0.w_x up to {w0:.3g} the integer model's requantization "
            f"allows {allowed:.3g} (std >= {reach[c] * std[c] / allowed:.3g} here)"]


_SHAPES_LISTED = 2   # shape mismatches listed one by one; more are weights of another model


def _presets_fitting(arrays: dict[str, np.ndarray], encoder_only: bool) -> list[str]:
    """The shipped model presets whose every array shape the arrays have."""
    from ..config import list_presets, load_model_config
    fits = []
    for name in list_presets("models"):
        want = {k: v for k, v in expected_shapes(load_model_config(name)).items()
                if not encoder_only or k.startswith(ENCODER_PREFIX)}
        if all(k in arrays and arrays[k].shape == v for k, v in want.items()):
            fits.append(name)
    return fits


def validate_weights(arrays: dict[str, np.ndarray], cfg, source: str,
                     encoder_only: bool = False, model_choice: str | None = None) -> None:
    """Raise WeightsError listing every missing, misshapen, mistyped, non-finite or out-of-range
    array (with ``encoder_only``, of the encoder's arrays alone). ``model_choice``: how the
    caller picks another model, for weights that fit one (default the model option)."""
    problems = []
    expected = {k: v for k, v in expected_shapes(cfg).items()
                if not encoder_only or k.startswith(ENCODER_PREFIX)}
    bound = weight_magnitude_bound(cfg)
    too_large = {}
    misshapen = []
    for name, shape in expected.items():
        if name not in arrays:
            problems.append(f"{name} is missing")
            continue
        a = arrays[name]
        if a.dtype != np.float32:
            problems.append(f"{name} has dtype {a.dtype}, expected float32")
        elif a.shape != shape:
            misshapen.append(f"{name} has shape {a.shape}, expected {shape}")
        elif not np.all(np.isfinite(a)):
            bad = int(np.count_nonzero(~np.isfinite(a)))
            problems.append(f"{name} contains NaN or Inf ({bad} of {a.size} values); every "
                            "value must be a finite float32")
        elif not name.startswith("frontend.") and a.size and np.max(np.abs(a)) > bound:
            too_large[name] = float(np.max(np.abs(a)))
    if too_large:
        names = ", ".join(too_large)
        problems.append(f"{names} {'has' if len(too_large) == 1 else 'have'} values up to "
                        f"{max(too_large.values()):.3g} in magnitude; this model's integer "
                        f"requantization allows at most {bound:.0f} (trained weights are O(1))")
    if len(misshapen) > _SHAPES_LISTED:
        # weights of another architecture: every matrix is off, and a list of them all (1,300
        # characters for small's weights on tiny) hides the one thing to say
        fits = [m for m in _presets_fitting(arrays, encoder_only) if m != cfg.name]
        hint = (f"; they fit the model preset {' and '.join(map(repr, fits))} "
                f"({model_choice or named('model')})" if fits
                else "; they are weights of another architecture")
        misshapen = [f"{len(misshapen)} arrays have other shapes than model {cfg.name!r} "
                     f"expects ({'; '.join(misshapen[:_SHAPES_LISTED])}; ...){hint}"]
    problems += misshapen
    extra = sorted(set(arrays) - set(expected) - {"format_version"})
    if extra:
        problems.append(f"unexpected arrays {extra}")
    if not problems and not encoder_only:
        problems += _check_frontend(arrays, cfg)
    if problems:
        raise WeightsError(f"{source}: " + "; ".join(problems))


def load_weights(path, cfg, allow_encoder_only: bool = False,
                 model_choice: str | None = None) -> dict[str, np.ndarray]:
    """Load and validate a weights file against ``cfg`` (all problems reported together).
    ``allow_encoder_only``: a file of the encoder's arrays alone (a cheap encoder branch,
    e.g. the shipped ``small-branch60``) is accepted too."""
    if str(path) == "":   # Path("") would be the current folder
        raise WeightsError(f"weights file {str(path)!r}: the path is empty; give a weights .npz "
                           "file or a shipped name such as small")
    given = str(path)   # as typed: Path("./small") would print as "small", a shipped name
    path = Path(path)
    wanted = "give a weights .npz file or a shipped name such as small"
    found = path_kind(path, given, WeightsError, wanted)
    if found == "folder":
        raise WeightsError(f"{given}: is a folder; {wanted}")
    if found != "file":
        from .loading import shipped_weights_dir   # it imports this module
        shipped = sorted(p.stem for p in shipped_weights_dir().glob("*.npz"))
        raise WeightsError(f"{given}: no such weights file (a path; the shipped sets are "
                           f"named without one: {', '.join(shipped)})")
    arrays = read_npz(path, str(path), WeightsError,
                      "a weights file is an .npz archive of named float32 arrays "
                      "(numpy.savez, azsim train, azsim soup)")
    version = arrays.pop("format_version", None)
    if version is None:
        raise WeightsError(f"{path}: format_version is missing, azsim reads version "
                           f"{FORMAT_VERSION}")
    if version.shape != ():
        raise WeightsError(f"{path}: format_version has shape {version.shape}, azsim reads a "
                           f"single integer {FORMAT_VERSION}")
    if not np.issubdtype(version.dtype, np.integer):
        shown = quoted(version.tolist(), 40)
        raise WeightsError(f"{path}: format_version is {shown} ({version.dtype}), azsim reads "
                           f"the integer {FORMAT_VERSION}")
    if int(version) != FORMAT_VERSION:
        raise WeightsError(f"{path}: format_version is {int(version)}, azsim reads version "
                           f"{FORMAT_VERSION}")
    if is_encoder_only(arrays):
        if not allow_encoder_only:
            raise WeightsError(f"{path}: holds only the encoder's arrays (a cheap encoder "
                               "branch); use it as one: "
                               + as_called("--branch-weights (model.branch.weights)",
                                           "model.branch.weights"))
        validate_weights(arrays, cfg, str(path), encoder_only=True, model_choice=model_choice)
        return arrays
    validate_weights(arrays, cfg, str(path), model_choice=model_choice)
    return arrays

"""Training extra (issue #6): RNN-T loss against brute force, QAT/pruning helpers, a one-step
training smoke test. Everything here needs torch and is skipped without it (CI never trains)."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from azsim.config import load_model_config  # noqa: E402
from azsim.model import float_ref  # noqa: E402
from azsim.train import compress  # noqa: E402
from azsim.train.loss import brute_force_nll, lattice_kd, rnnt_loss  # noqa: E402
from azsim.train.model import TorchRNNT  # noqa: E402


@pytest.mark.parametrize("shape", [(1, 1, 0), (1, 3, 2), (2, 4, 3), (3, 5, 1)])
def test_rnnt_loss_equals_brute_force_sum_over_alignments(shape):
    n_b, n_t, n_u = shape
    gen = torch.Generator().manual_seed(sum(shape))
    logits = torch.randn(n_b, n_t, n_u + 1, 6, generator=gen, dtype=torch.float64)
    targets = torch.randint(1, 6, (n_b, max(n_u, 1)), generator=gen)
    frames = torch.tensor([max(1, n_t - b) for b in range(n_b)])
    labels = torch.tensor([max(0, n_u - b) for b in range(n_b)])
    got = rnnt_loss(logits, targets, frames, labels, reduction="none")
    logp = torch.log_softmax(logits, -1).numpy()
    for b in range(n_b):
        want = brute_force_nll(logp[b, :frames[b], :labels[b] + 1],
                               targets[b, :labels[b]].tolist())
        assert float(got[b]) == pytest.approx(want, rel=1e-10, abs=1e-10)


def test_rnnt_loss_gradient_is_correct():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 3, 3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([[1, 2], [3, 1]])
    frames, labels = torch.tensor([3, 2]), torch.tensor([2, 1])
    assert torch.autograd.gradcheck(lambda x: rnnt_loss(x, targets, frames, labels), (logits,))


def test_lattice_kd_is_the_kl_summed_over_valid_nodes_and_zero_for_the_teacher_itself():
    gen = torch.Generator().manual_seed(2)
    teacher = torch.randn(2, 4, 3, 5, generator=gen, dtype=torch.float64)
    student = torch.randn(2, 4, 3, 5, generator=gen, dtype=torch.float64)
    frames, labels = torch.tensor([4, 2]), torch.tensor([2, 0])
    assert float(lattice_kd(teacher, teacher, frames, labels)) == pytest.approx(0.0, abs=1e-6)
    want = 0.0
    for b in range(2):
        for t in range(int(frames[b])):
            for u in range(int(labels[b]) + 1):
                p = np.exp(teacher[b, t, u].numpy()) / np.exp(teacher[b, t, u].numpy()).sum()
                q = np.exp(student[b, t, u].numpy()) / np.exp(student[b, t, u].numpy()).sum()
                want += float(np.sum(p * np.log(p / q)))
    got = lattice_kd(student, teacher, frames, labels)
    assert float(got) == pytest.approx(want / 2, rel=1e-5)
    # Padded nodes (t >= frames or u > labels) do not count, whatever they hold.
    noisy = student.clone()
    noisy[1, 2:] += 100 * torch.randn(2, 3, 5, generator=gen, dtype=torch.float64)
    noisy[1, :, 1:] += 100 * torch.randn(4, 2, 5, generator=gen, dtype=torch.float64)
    assert float(lattice_kd(noisy, teacher, frames, labels)) == pytest.approx(float(got), rel=1e-6)


def test_fake_quantize_lands_on_azsims_grid_and_passes_gradients_straight_through():
    from azsim.compress.quantize import quantize_per_channel
    w = torch.randn(8, 16, dtype=torch.float64, requires_grad=True)
    fq = compress.fake_quantize(w, 4)
    q, scale = quantize_per_channel(w.detach().numpy(), 4)
    np.testing.assert_allclose(fq.detach().numpy(), q * scale[:, None], rtol=1e-12)
    fq.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.ones((8, 16)))


def test_learned_step_gets_lsqs_gradient_and_clipped_weights_get_none():
    """LSQ (Esser et al. 2020): d/ds of clamp(round(w/s)) * s is round(w/s) - w/s inside
    the range and +-qmax outside it; a weight inside gets gradient 1, a clipped one 0."""
    s = torch.tensor([[0.1]], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([[0.13, -0.26, 0.95, -2.0]], dtype=torch.float64, requires_grad=True)
    fq = compress.fake_quantize(w, 4, s)                  # qmax 7: 0.95 and -2.0 are clipped
    np.testing.assert_allclose(fq.detach().numpy(), [[0.1, -0.3, 0.7, -0.7]], rtol=1e-12)
    fq.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1.0, 1.0, 0.0, 0.0]])
    want = (1 - 1.3) + (-3 + 2.6) + 7 - 7
    assert float(s.grad) == pytest.approx(want, abs=1e-12)


def test_a_learned_step_never_leaves_the_top_code_unused_so_azsim_finds_the_same_grid():
    """The exported rows are on azsim's own per-row grid: quantize_per_channel finds the
    learned step (clipping rows) and reproduces the snapped weights exactly."""
    from azsim.compress.quantize import quantize_per_channel
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(6, 40, generator=gen)
    free = compress.row_step(w, 4)
    wanted = free * torch.tensor([[0.5], [0.8], [1.0], [1.3], [2.0], [0.95]])
    step = compress.learned_step(torch.log(wanted), w, 4)
    assert torch.all(step <= free)
    torch.testing.assert_close(step[:2], wanted[:2])       # below the cap: the learned step
    snapped = compress.snap(w, 4, step).numpy()
    q, scale = quantize_per_channel(snapped, 4)
    np.testing.assert_allclose(scale, step.numpy()[:, 0], rtol=1e-6)   # float32's rounding
    np.testing.assert_array_equal(q, np.rint(snapped / step.numpy()))    # the same codes
    assert np.all(np.abs(q).max(axis=1) == 7)


def test_acos_penalty_is_zero_on_the_grid_and_one_halfway():
    s = 0.1
    on_grid = torch.tensor([[7 * s, -3 * s, 0.0, 2 * s]], dtype=torch.float64)
    assert float(compress.acos_penalty(on_grid, 4)) == pytest.approx(0.0, abs=1e-12)
    halfway = torch.tensor([[7 * s, 0.5 * s, -2.5 * s, 1.5 * s]], dtype=torch.float64)
    assert float(compress.acos_penalty(halfway, 4)) == pytest.approx(0.75, abs=1e-9)


def test_acos_gradient_moves_weights_toward_the_nearest_grid_point():
    w = torch.tensor([[0.7, 0.13, -0.27]], requires_grad=True)  # s = 0.1 at 4 bits
    compress.acos_penalty(w, 4).backward()
    # 0.13 is above 0.1 -> pushed down (positive gradient); -0.27 is below -0.3... above -0.3
    # -> pushed toward -0.3 (positive gradient moves it down after the update w -= lr * g).
    assert w.grad[0, 1] > 0 and w.grad[0, 2] > 0


def test_zhu_gupta_schedule_is_cubic_and_reaches_the_target():
    f = lambda t: compress.zhu_gupta_sparsity(t, 0.8, 100, 10, 50)  # noqa: E731
    assert f(0) == 0.0 and f(100) == 0.0
    assert f(600) == pytest.approx(0.8) and f(10_000) == pytest.approx(0.8)
    assert f(350) == pytest.approx(0.8 * (1 - 0.5 ** 3))
    mask = compress.magnitude_mask(torch.arange(10.0).reshape(2, 5) - 4.5, 0.8)
    assert int(mask.sum()) == 2 and bool(mask[0, 0]) and bool(mask[1, 4])


def test_erk_and_global_allocations_keep_small_matrices_denser():
    gen = torch.Generator().manual_seed(0)
    prunable = {"big": torch.randn(64, 48, generator=gen),
                "out": torch.randn(4, 48, generator=gen)}
    prunable["out"].mul_(10.0)             # the small matrix has the larger weights
    uniform = compress.allocation_masks(prunable, 0.8, "uniform")
    erk = compress.allocation_masks(prunable, 0.8, "erk")
    glob = compress.allocation_masks(prunable, 0.8, "global")
    total = sum(p.numel() for p in prunable.values())
    for masks in (uniform, erk, glob):      # the same overall sparsity, within rounding
        assert abs(sum(int(m.sum()) for m in masks.values()) - 0.2 * total) <= len(masks)
    pruned = torch.cat([prunable[n][~glob[n]].abs() for n in prunable])
    kept = torch.cat([prunable[n][glob[n]].abs() for n in prunable])
    assert pruned.max() <= kept.min()        # one threshold over all matrices
    assert int(glob["out"].sum()) > 2 * int(uniform["out"].sum())
    assert int(uniform["out"].sum()) == round(0.2 * 4 * 48)
    assert int(erk["out"].sum()) > 2 * int(uniform["out"].sum())
    with pytest.raises(ValueError, match="allocation 'random'"):
        compress.allocation_masks(prunable, 0.5, "random")


def test_global_mask_of_the_shipped_sparse_model_keeps_exactly_its_nonzeros():
    """Recovery at a global mask (small-sparse80-global-recover) recomputes the mask at 80 %:
    over a model that is 80 % zero it must be that model's own zeros, so nothing is cut
    again. (The cheap branch's numpy pruning has its own test in test_branch.py.)"""
    from azsim.model.loading import shipped_weights_dir
    from azsim.model.weights import load_weights
    cfg = load_model_config("small", [])
    model = TorchRNNT(cfg, np.zeros(80, np.float32), np.ones(80, np.float32))
    model.load_npz_weights(load_weights(shipped_weights_dir() / "small-sparse80.npz", cfg))
    prunable = model.prunable()
    masks = compress.allocation_masks(prunable, 0.8, "global")
    for name, p in prunable.items():
        assert torch.equal(masks[name], p.detach() != 0), name


def _shipped_small_twin():
    from azsim.model.loading import shipped_weights_dir
    from azsim.model.weights import load_weights
    cfg = load_model_config("small", [])
    model = TorchRNNT(cfg, np.zeros(80, np.float32), np.ones(80, np.float32))
    model.load_npz_weights(load_weights(shipped_weights_dir() / "small.npz", cfg))
    return cfg, model


def test_obs_event_takes_each_matrix_share_by_sparsegpt_on_the_current_models_inputs():
    """A pruning event with obs saliency: each matrix loses exactly as many weights as its
    global-magnitude share, but other ones, chosen and compensated so that the matrix's
    output on the calibration inputs moves less than magnitude pruning moves it."""
    from azsim.evaluate import calibration_utterances
    cfg, model = _shipped_small_twin()
    feats = [u.features for u in calibration_utterances(cfg)[:6]]
    prunable = model.prunable()
    before = {n: p.detach().numpy().astype(np.float64) for n, p in prunable.items()}
    shares = compress.allocation_masks(prunable, 0.5, "global")
    stats = float_ref.ActivationStats(grams={})
    float_ref.recognize_many(model.export(), cfg, feats, stats)
    masks = compress.obs_event(prunable, shares, model.export(), cfg, feats)
    moved = 0
    for name, p in prunable.items():
        after = p.detach().numpy().astype(np.float64)
        assert torch.equal(masks[name], p.detach() != 0), name        # set in place
        assert int((~masks[name]).sum()) == int((~shares[name]).sum()), name
        moved += int((masks[name] != shares[name]).sum())
        h = stats.grams[name]

        def output_error(w):
            d = w - before[name]
            return float(np.einsum("oi,ij,oj->", d, h, d))
        magnitude = before[name] * shares[name].numpy()
        assert output_error(after) < output_error(magnitude), name
    assert moved > 0                       # not the magnitude mask itself


def test_obs_mask_event_takes_sparsegpts_mask_and_leaves_the_kept_weights_alone():
    from azsim.evaluate import calibration_utterances
    cfg, model = _shipped_small_twin()
    _, twin = _shipped_small_twin()
    feats = [u.features for u in calibration_utterances(cfg)[:4]]
    prunable, other = model.prunable(), twin.prunable()
    before = {n: p.detach().clone() for n, p in prunable.items()}
    shares = compress.allocation_masks(prunable, 0.6, "global")
    masks = compress.obs_event(prunable, shares, model.export(), cfg, feats, compensate=False)
    full = compress.obs_event(other, shares, twin.export(), cfg, feats)
    for name, p in prunable.items():
        assert torch.equal(masks[name], full[name]), name          # the same choice
        assert torch.equal(p.detach(), before[name] * masks[name]), name   # no update


def test_training_with_obs_saliency_logs_its_events_and_reaches_the_exact_sparsity(tmp_path):
    from azsim.train.loop import TrainConfig
    tcfg = TrainConfig(epochs=4, threads=1, warmup_steps=1, sparsity=0.5, prune_end=0.25,
                       prune_every_steps=1, prune_allocation="global",
                       prune_saliency="obs", obs_calibration=2)
    init, w = _train_from_shipped_small(tmp_path, tcfg)
    from azsim.compress.pipeline import is_prunable
    names = [n for n in w if is_prunable(n)]
    zeros = sum(int(np.count_nonzero(w[n] == 0)) for n in names)
    assert zeros == round(0.5 * sum(w[n].size for n in names))
    log = (tmp_path / "o" / "train.log.jsonl").read_text().splitlines()
    entries = [json.loads(x) for x in log]
    events = [e for e in entries if e["event"] == "obs"]
    assert events and all(e["seconds"] >= 0 for e in events)
    assert events[-1]["sparsity"] == 0.5
    # one event per step up to the schedule's end (a quarter of the steps), none after it
    total = next(e["total_steps"] for e in entries if e["event"] == "train")
    assert total >= 4
    assert [e["step"] for e in events] == list(range(int(0.25 * total) + 1))


def test_qat_with_learned_steps_exports_weights_on_azsims_grid(tmp_path):
    from azsim.compress.quantize import quantize_per_channel
    from azsim.train.loop import TrainConfig
    from azsim.compress.pipeline import is_prunable
    tcfg = TrainConfig(epochs=2, threads=1, warmup_steps=1, qat_bits=4, acos_weight=0.1,
                       lr=1e-4, step_lr=0.05)
    init, w = _train_from_shipped_small(tmp_path, tcfg)
    clipped = 0
    for name in filter(is_prunable, w):
        q, scale = quantize_per_channel(w[name], 4)
        np.testing.assert_allclose(q * scale[:, None], w[name], rtol=1e-6, atol=0)
        clipped += int(np.sum(scale < 0.999 * np.abs(init[name]).max(axis=1) / 7))
    assert clipped > 0                # the steps moved (a large step_lr, two steps)
    log = [json.loads(x) for x in (tmp_path / "o" / "train.log.jsonl").read_text().splitlines()]
    ratios = [e["step_ratio"] for e in log if e["event"] == "dev"]
    assert ratios and all(0 < r <= 1 for r in ratios)
    with pytest.raises(ValueError, match="step_lr 0.001 needs qat_bits"):
        TrainConfig(step_lr=1e-3)
    # last.pt carries the learned steps: a continuation from it starts on the grid the first
    # run ended on, not on its float shadow weights' max|w_row| / qmax (which it had done)
    import torch
    from dataclasses import replace
    from azsim.train.loop import train
    saved = torch.load(tmp_path / "o" / "last.pt", weights_only=True)
    assert set(saved["log_steps"]) == set(filter(is_prunable, w))
    cfg = load_model_config("small", [])
    train(cfg, tmp_path / "c", tmp_path / "o2",
          replace(tcfg, epochs=1, lr=1e-9, final_lr=1e-9, step_lr=1e-9),
          init=str(tmp_path / "o" / "last.pt"))
    again = torch.load(tmp_path / "o2" / "last.pt", weights_only=True)["log_steps"]
    for name, steps in saved["log_steps"].items():
        torch.testing.assert_close(again[name], steps, rtol=0, atol=1e-6)
    shadow = TorchRNNT(cfg, np.zeros(80, np.float32), np.ones(80, np.float32))
    shadow.load_state_dict(saved["model"])
    fresh = {n: torch.log(compress.row_step(p, 4)) for n, p in shadow.prunable().items()}
    assert any(not torch.allclose(fresh[n], saved["log_steps"][n], rtol=0, atol=1e-3)
               for n in fresh)   # the shadow weights' own grid is another grid
    # every learned step ends at most at its cap, the shadow row's max|w| / qmax: above it a
    # step gets no gradient and stayed stuck there (a training audit, 2026-12-06)
    for n in fresh:
        assert bool((saved["log_steps"][n] <= fresh[n] + 1e-6).all()), n


def test_prune_saliency_and_obs_calibration_are_checked():
    from azsim.train.loop import TrainConfig
    with pytest.raises(ValueError, match="prune_saliency 'fisher'"):
        TrainConfig(prune_saliency="fisher")
    with pytest.raises(ValueError, match="obs_calibration 0"):
        TrainConfig(prune_saliency="obs", obs_calibration=0)


def test_torch_twin_matches_the_numpy_golden_model():
    cfg = load_model_config("small", [])
    torch.manual_seed(0)
    model = TorchRNNT(cfg, np.zeros(80, np.float32), np.ones(80, np.float32))
    w = model.export()
    feats = np.random.default_rng(0).standard_normal((61, 80)).astype(np.float32)
    enc_np = float_ref.encoder(w, cfg, feats)
    enc_t, n = model.encode(torch.from_numpy(feats)[None], torch.tensor([61]))
    assert int(n[0]) == enc_np.shape[0]
    np.testing.assert_allclose(enc_t[0].detach().numpy(), enc_np, atol=2e-5)
    tokens = [3, 7, 1]
    pred = model.predict(torch.tensor([tokens]))[0].detach().numpy()
    p, states = float_ref.prediction_step(w, cfg, 0, None)
    np.testing.assert_allclose(pred[0], p, atol=2e-5)
    for u, k in enumerate(tokens, 1):
        p, states = float_ref.prediction_step(w, cfg, k, states)
        np.testing.assert_allclose(pred[u], p, atol=2e-5)
    logits = model.joint(enc_t, model.predict(torch.tensor([tokens])))[0].detach().numpy()
    np.testing.assert_allclose(logits[2, 1], float_ref.joint(w, enc_np[2], pred[1]), atol=2e-5)


def test_one_training_step_smoke(tmp_path):
    """A corpus of 6 utterances, three steps of QAT + pruning: the loop runs and exports."""
    pytest.importorskip("shutil").which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus.build import build_corpus
    from azsim.model.weights import load_weights
    from azsim.train.loop import TrainConfig, train
    build_corpus(tmp_path / "c", {"train": 4, "dev": 2}, seed=1, jobs=1, voice_split_seed=0)
    cfg = load_model_config("small", [])
    result = train(cfg, tmp_path / "c", tmp_path / "o",
                   TrainConfig(epochs=3, threads=1, warmup_steps=1, qat_bits=4,
                               acos_weight=0.1, sparsity=0.5, prune_end=0.5,
                               prune_every_steps=1))
    assert result["steps"] >= 1
    w = load_weights(tmp_path / "o" / "weights.npz", cfg)
    # 50 % pruned; 4-bit snapping may round a few more small weights to zero.
    assert 0.5 <= np.mean(w["enc.0.w_x"] == 0) < 0.6


def test_weight_averaging_starts_after_the_last_pruning_event(tmp_path):
    """swa_start == prune_end: the first snapshot came on the eve of the last pruning event's
    step, at the mask before it, so the average had fewer zeros than the target (a training
    audit, 2026-12-06); now every snapshot is at the final mask."""
    from azsim.compress.pipeline import is_prunable
    from azsim.train.loop import TrainConfig
    _, w = _train_from_shipped_small(
        tmp_path, TrainConfig(epochs=4, threads=1, warmup_steps=1, sparsity=0.5,
                              prune_end=0.5, prune_every_steps=1, swa_every_steps=1,
                              swa_start=0.5, dev_limit=2))
    from azsim.model.weights import load_weights
    swa = load_weights(tmp_path / "o" / "swa.npz", load_model_config("small", []))
    for name in filter(is_prunable, w):
        np.testing.assert_array_equal(swa[name] == 0, w[name] == 0, err_msg=name)


def test_weight_averaging_writes_the_mean_of_its_snapshots_keeping_the_mask(tmp_path):
    """swa_every_steps: the run also writes swa.npz, the mean of the exported weights at every
    k-th step from swa_start on; with the mask held, the mean has exactly the mask's zeros, and
    it differs from the last weights (a real average, not a copy)."""
    pytest.importorskip("shutil").which("espeak-ng") or pytest.skip("espeak-ng not installed")
    import json
    import torch
    from azsim.corpus.build import build_corpus
    from azsim.model.weights import load_weights
    from azsim.train.loop import TrainConfig, train
    build_corpus(tmp_path / "c", {"train": 4, "dev": 2}, seed=1, jobs=1, voice_split_seed=0)
    cfg = load_model_config("small", [])
    result = train(cfg, tmp_path / "c", tmp_path / "o",
                   TrainConfig(epochs=4, threads=1, warmup_steps=1, lr=1e-3, final_lr=1e-3,
                               sparsity=0.5, prune_initial=0.5, prune_end=0.0,
                               swa_every_steps=1, swa_start=0.0, dev_limit=2))
    swa = load_weights(tmp_path / "o" / "swa.npz", cfg)
    last = TorchRNNT(cfg, np.zeros(80, np.float32), np.ones(80, np.float32))
    last.load_state_dict(torch.load(tmp_path / "o" / "last.pt", weights_only=True)["model"])
    final = last.export()
    for name in ("enc.0.w_x", "joint.w_out"):
        np.testing.assert_array_equal(swa[name] == 0, final[name] == 0)
    assert not np.array_equal(swa["enc.0.w_x"], final["enc.0.w_x"])
    log = [json.loads(line) for line in (tmp_path / "o" / "train.log.jsonl").open()]
    tags = [e["tag"] for e in log if e["event"] == "dev"]
    # one snapshot per step after the last pruning event's (prune_end 0: events at steps 0
    # and 1), evaluated last
    assert tags[-1] == f"swa{result['steps'] - 1}"
    # the first line says what the run learned from: the corpus and the grammar it was drawn from
    from azsim.corpus.grammar import fingerprint
    start = log[0]
    assert start["event"] == "start" and start["corpus"] == str(tmp_path / "c")
    assert start["corpus_grammar"] == start["grammar_now"] == fingerprint()
    assert start["corpus_seed"] == 1 and start["config"]["swa_every_steps"] == 1


def test_numba_work_inside_training_keeps_torch_on_its_thread_budget():
    """Numba's OpenMP layer shares torch's libgomp, and starting it resets torch's thread count:
    ``train(threads=1)`` used to train on every core after its first dev evaluation. The
    effect happens once per process, when Numba's first parallel region meets a running torch
    OpenMP runtime, so each case runs in a fresh interpreter."""
    import subprocess
    import sys
    import numba
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two cores for a parallel region")
    script = """
import sys, numpy as np, torch
from azsim.kernels import matmul_nt
from azsim.train.loop import thread_budget
torch.set_num_threads(1)
torch.ones(2000, 2000) + 1              # torch's OpenMP runtime is up, as in training
x = np.ones((1200, 1200), np.float32)   # above PARALLEL_MIN_MACS: a parallel region
if sys.argv[1] == "budget":
    with thread_budget(1):
        assert matmul_nt(x, x)[0, 0] == 1200
else:
    matmul_nt(x, x)
print(torch.get_num_threads())
"""

    def torch_threads_after(mode):
        run = subprocess.run([sys.executable, "-c", script, mode], capture_output=True,
                             text=True, check=True)
        return int(run.stdout.split()[-1])

    assert torch_threads_after("budget") == 1
    # without it, the effect guarded against (so that this test cannot pass vacuously)
    assert torch_threads_after("bare") == numba.config.NUMBA_NUM_THREADS


def _train_from_shipped_small(tmp_path, tcfg, init_name="small"):
    """Train ``tcfg`` from the shipped ``init_name`` (a set of ``small``'s weights) on a
    4-utterance corpus: (init, result)."""
    pytest.importorskip("shutil").which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus.build import build_corpus
    from azsim.model.loading import shipped_weights_dir
    from azsim.model.weights import load_weights
    from azsim.train.loop import train
    build_corpus(tmp_path / "c", {"train": 4, "dev": 2}, seed=1, jobs=1, voice_split_seed=0)
    cfg = load_model_config("small", [])
    init_path = shipped_weights_dir() / f"{init_name}.npz"
    init = load_weights(init_path, cfg)
    train(cfg, tmp_path / "c", tmp_path / "o", tcfg, init=str(init_path))
    return init, load_weights(tmp_path / "o" / "weights.npz", cfg)


@pytest.mark.parametrize("prune_end,every", [(0.5, 50), (1.0, 1)])
def test_gradual_pruning_reaches_its_target_on_a_short_run(tmp_path, prune_end, every):
    """A pruning window shorter than prune_every_steps, or one ending on the last step, put
    the last event after the end: the run kept a model at 0.000 (or 0.492) for a 0.5 target
    (a training audit). The last event now falls on a step that runs."""
    from azsim.compress.pipeline import is_prunable
    from azsim.train.loop import TrainConfig
    _, w = _train_from_shipped_small(
        tmp_path, TrainConfig(epochs=2, threads=1, warmup_steps=1, sparsity=0.5,
                              prune_end=prune_end, prune_every_steps=every))
    names = [n for n in w if is_prunable(n)]
    zeros = sum(int(np.count_nonzero(w[n] == 0)) for n in names)
    assert zeros >= round(0.5 * sum(w[n].size for n in names)) - len(names)


def test_a_held_sparsity_keeps_the_inits_own_zeros(tmp_path):
    """A recover run (prune_initial = sparsity) rebuilt its mask by magnitude under the
    recipe's allocation: from the globally pruned small-sparse80 a uniform one let 51,218 of
    its zeros regrow and cut as many nonzeros (a training audit, 2026-12-07). It keeps the
    init's own zeros, exactly, and says so in the log."""
    import json

    from azsim.compress.pipeline import is_prunable
    from azsim.train.loop import TrainConfig
    init, w = _train_from_shipped_small(
        tmp_path, TrainConfig(epochs=2, threads=1, warmup_steps=1, lr=1e-3, sparsity=0.8,
                              prune_initial=0.8, prune_start=0.0, prune_end=0.0,
                              prune_allocation="uniform"), "small-sparse80")
    names = [n for n in w if is_prunable(n)]
    for n in names:
        np.testing.assert_array_equal(w[n] != 0, init[n] != 0, err_msg=n)
    assert any(not np.array_equal(w[n], init[n]) for n in names)   # it trained
    events = [json.loads(line) for line in
              (tmp_path / "o" / "train.log.jsonl").read_text().splitlines()]
    hold = [e for e in events if e["event"] == "hold"]
    assert len(hold) == 1 and hold[0]["sparsity"] == pytest.approx(0.8, abs=0.01)


def test_schedules_that_undo_themselves_are_refused():
    """Averaging snapshots before the final mask, and a decay that rises (training audit)."""
    from azsim.train.loop import TrainConfig
    with pytest.raises(ValueError, match="swa_start 0.5 before prune_end 0.6"):
        TrainConfig(sparsity=0.5, swa_every_steps=10)
    with pytest.raises(ValueError, match="an average of 4-bit weights is off their grid"):
        TrainConfig(qat_bits=4, swa_every_steps=10)
    with pytest.raises(ValueError, match="final_lr 0.01 above lr"):
        TrainConfig(lr=1e-3, final_lr=1e-2)
    TrainConfig(sparsity=0.5, swa_every_steps=10, swa_start=0.6)


def test_qat_bits_are_checked():
    """1 bit trained a ternary grid (azsim's 1-bit quantizer is sign-based); 9 and -1 failed
    at the first forward pass, after the output folder was made (a training audit)."""
    from azsim.train.loop import TrainConfig
    for bits in (1, 9, -1):
        with pytest.raises(ValueError, match="qat_bits"):
            TrainConfig(qat_bits=bits)


def test_a_run_too_short_to_prune_is_refused_before_its_folder_is_made(tmp_path):
    pytest.importorskip("shutil").which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus.build import build_corpus
    from azsim.errors import AzsimError
    from azsim.train.loop import TrainConfig, train
    build_corpus(tmp_path / "c", {"train": 2, "dev": 1}, seed=1, jobs=1, voice_split_seed=0)
    with pytest.raises(AzsimError, match="too few to prune"):
        train(load_model_config("small", []), tmp_path / "c", tmp_path / "o",
              TrainConfig(epochs=1, threads=1, sparsity=0.5, max_batch_frames=100000))
    assert not (tmp_path / "o").exists()


def test_rnnt_loss_refuses_an_utterance_without_frames():
    """frames - 1 = -1 read the last padded frame: a finite loss with gradients on padding."""
    logits = torch.zeros(2, 3, 2, 4)
    with pytest.raises(ValueError, match=">= 1 encoder frame"):
        rnnt_loss(logits, torch.zeros(2, 1, dtype=torch.long), torch.tensor([3, 0]),
                  torch.tensor([1, 1]))


@pytest.mark.parametrize("branch_switch", [0.0, 0.5])
def test_encoder_only_training_prunes_the_encoder_and_keeps_the_rest_of_the_init(
        tmp_path, branch_switch):
    """``encoder_only`` (the branching encoder's cheap branch): the encoder is pruned and
    trained; the prediction and joint networks come out exactly as loaded. The same with
    branch-switch training (the init's encoder as the frozen full branch)."""
    from azsim.train.loop import TrainConfig
    init, w = _train_from_shipped_small(
        tmp_path, TrainConfig(epochs=2, threads=1, warmup_steps=1, sparsity=0.5, prune_end=0.5,
                              prune_every_steps=1, encoder_only=True,
                              branch_switch=branch_switch, branch_chunk_steps=2.0))
    for name in ("pred.embed", "pred.0.w_x", "pred.0.w_r", "pred.0.b", "joint.w_enc",
                 "joint.w_pred", "joint.w_out", "joint.b", "joint.b_out"):
        np.testing.assert_array_equal(w[name], init[name], err_msg=name)
    for name in ("enc.0.w_x", "enc.1.w_r", "enc.2.w_p"):
        assert np.mean(w[name] == 0) == pytest.approx(0.5, abs=1e-3)
    assert not np.array_equal(w["enc.0.b"], init["enc.0.b"])    # the encoder trained
    assert np.mean(w["joint.w_out"] == 0) < 0.1


def test_decoder_only_training_keeps_the_encoder_of_the_init_bit_for_bit(tmp_path):
    """``decoder_only``: the prediction and joint networks train; the encoder and the feature
    normalization come out exactly as loaded, so a cheap branch trained against that encoder
    (small-branch60) remains its branch."""
    from azsim.train.loop import TrainConfig
    init, w = _train_from_shipped_small(
        tmp_path, TrainConfig(epochs=2, threads=1, warmup_steps=1, decoder_only=True))
    encoder = [k for k in init if k.startswith(("enc.", "frontend."))]
    assert len(encoder) >= 10
    for name in encoder:
        np.testing.assert_array_equal(w[name], init[name], err_msg=name)
    for name in ("pred.0.b", "joint.b_out"):
        assert not np.array_equal(w[name], init[name]), name     # the decoder trained


def test_distillation_trains_from_the_init_and_needs_one(tmp_path):
    """``kd_weight`` (QAT with lattice distillation): the run trains against the frozen init
    and exports 4-bit weights; without an init there is no teacher, which is an error."""
    from azsim.compress.quantize import quantize_per_channel
    from azsim.train.loop import TrainConfig, train
    tcfg = TrainConfig(epochs=1, threads=1, warmup_steps=1, qat_bits=4, kd_weight=0.1)
    init, w = _train_from_shipped_small(tmp_path, tcfg)
    q, scale = quantize_per_channel(w["pred.0.w_x"], 4)
    np.testing.assert_allclose(w["pred.0.w_x"], q * scale[:, None], rtol=1e-5, atol=1e-7)
    assert not np.array_equal(w["pred.0.b"], init["pred.0.b"])
    with pytest.raises(ValueError, match="need an init"):
        train(load_model_config("small", []), tmp_path / "c", tmp_path / "o2", tcfg)


def test_kd_teacher_replaces_the_init_as_the_distillation_target(tmp_path):
    """``kd_teacher``: the frozen model distilled from is that file (or shipped set), not the
    init. From ``small`` with ``small`` as the teacher the first step's KL is ~0 (same model,
    same input); with the shipped 80 % model as the teacher it is not. A teacher needs
    kd_weight, and a missing teacher is an error before any training."""
    import json

    from azsim.errors import AzsimError
    from azsim.train.loop import TrainConfig, train
    with pytest.raises(ValueError, match="needs kd_weight"):
        TrainConfig(kd_teacher="small")
    with pytest.raises(ValueError, match="excludes branch_switch"):
        TrainConfig(kd_teacher="small", kd_weight=0.1, encoder_only=True, distill_weight=1.0)
    first_kd = {}
    for teacher in ("small", "small-sparse80"):
        tcfg = TrainConfig(epochs=1, threads=1, warmup_steps=1, kd_weight=0.1,
                           kd_teacher=teacher, lr=1e-12, final_lr=1e-12, spec_augment=False)
        _train_from_shipped_small(tmp_path / teacher, tcfg)
        log = [json.loads(line) for line in
               (tmp_path / teacher / "o" / "train.log.jsonl").read_text().splitlines()]
        first_kd[teacher] = next(e["kd"] for e in log if e["event"] == "train")
    assert first_kd["small"] == pytest.approx(0.0, abs=1e-3)
    assert first_kd["small-sparse80"] > 1.0
    with pytest.raises(AzsimError, match="--kd-teacher nowhere.npz: no such weights file"):
        train(load_model_config("small", []), tmp_path / "small" / "c", tmp_path / "o3",
              TrainConfig(epochs=1, threads=1, kd_weight=0.1, kd_teacher="nowhere.npz"))


def test_gptq_init_starts_qat_from_gptqs_rounding_and_needs_qat_bits(tmp_path):
    """``gptq_init``: the 4-bit fine-tune starts from GPTQ's codes of the init (calibrated as
    ``azsim eval`` is), so at a vanishing learning rate nearly every exported code is GPTQ's,
    not round-to-nearest's; without ``qat_bits`` there is no grid to round onto."""
    from azsim.compress.quantize import quantize_per_channel
    from azsim.train.loop import TrainConfig, gptq_init_weights
    with pytest.raises(ValueError, match="gptq_init needs qat_bits"):
        TrainConfig(gptq_init=True)
    tcfg = TrainConfig(epochs=1, threads=1, warmup_steps=1, qat_bits=4, gptq_init=True,
                       lr=1e-12, final_lr=1e-12)
    init, w = _train_from_shipped_small(tmp_path, tcfg)
    start = gptq_init_weights(init, load_model_config("small", []), 4)
    for name in ("enc.2.w_r", "pred.0.w_r", "joint.w_pred"):
        q_gptq, _ = quantize_per_channel(start[name], 4)
        q_rtn, _ = quantize_per_channel(init[name], 4)
        q_out, _ = quantize_per_channel(w[name], 4)
        assert np.mean(q_gptq != q_rtn) > 0.05, name          # GPTQ moved many codes
        assert np.mean(q_out == q_gptq) > 0.95, name          # and training started there


def test_the_dev_log_counts_the_codes_qat_moved_since_its_start(tmp_path):
    """``codes_moved``: the share of the exported b-bit codes that differ from the run's start
    (GPTQ's rounding here). At a vanishing rate none move; at a large one the share is the
    count between the two runs' exported codes, exactly (README: the shipped small-qat4's
    epoch moved 0.035 % of GPTQ's codes, which only this count showed)."""
    import json
    from azsim.compress.pipeline import is_prunable
    from azsim.compress.quantize import quantize_per_channel
    from azsim.train.loop import TrainConfig
    base = dict(epochs=2, threads=1, warmup_steps=1, qat_bits=4, gptq_init=True)
    _, still = _train_from_shipped_small(tmp_path / "a",
                                         TrainConfig(**base, lr=1e-12, final_lr=1e-12))
    _, moved = _train_from_shipped_small(tmp_path / "b",
                                         TrainConfig(**base, lr=3e-3, final_lr=3e-3))

    def dev_entries(run):
        lines = (tmp_path / run / "o" / "train.log.jsonl").read_text().splitlines()
        return [e for e in map(json.loads, lines) if e.get("event") == "dev"]
    assert all(e["codes_moved"] == 0.0 for e in dev_entries("a"))
    names = [n for n in moved if is_prunable(n)]
    differ = sum(int(np.count_nonzero(quantize_per_channel(moved[n], 4)[0]
                                      != quantize_per_channel(still[n], 4)[0])) for n in names)
    share = differ / sum(moved[n].size for n in names)
    assert 0 < share < 1
    entries = dev_entries("b")
    kept = [e for e in entries if e["wer"] == min(x["wer"] for x in entries)][-1]  # the <= rule
    assert kept["codes_moved"] == pytest.approx(share, abs=1e-12)


def test_learned_steps_start_from_gptq_and_continue_on_their_grid(tmp_path):
    """small-qat4-gptq-mse-lsq's settings (GPTQ's start on the clipped range, learned steps)
    ran into KeyError 0 before the first step from 2026-12-06's last.pt carry until a training
    audit found it; a continuation from its last.pt keeps the grid it ended on instead of
    GPTQ-rounding its shadow weights onto another (at vanishing rates nothing moves)."""
    import torch
    from dataclasses import replace
    from azsim.compress.quantize import quantize_per_channel
    from azsim.train.loop import TrainConfig, train
    tcfg = TrainConfig(epochs=1, threads=1, warmup_steps=1, qat_bits=4, gptq_init=True,
                       gptq_init_range="mse", step_lr=1e-9, lr=1e-12, final_lr=1e-12)
    _, w = _train_from_shipped_small(tmp_path, tcfg)
    cfg = load_model_config("small", [])
    train(cfg, tmp_path / "c", tmp_path / "o2", replace(tcfg),
          init=str(tmp_path / "o" / "last.pt"))
    from azsim.model.weights import load_weights
    again = load_weights(tmp_path / "o2" / "weights.npz", cfg)
    steps = torch.load(tmp_path / "o" / "last.pt", weights_only=True)["log_steps"]
    for name in steps:
        np.testing.assert_allclose(again[name], w[name], rtol=0, atol=1e-6, err_msg=name)
        q, scale = quantize_per_channel(w[name], 4)
        np.testing.assert_allclose(q * scale[:, None], w[name], rtol=1e-6, atol=0)


def test_gptq_init_range_mse_starts_on_trainings_own_grid():
    """``gptq_init_range = "mse"``: GPTQ rounds the init onto the clipped grid; its clipped
    weights are then each row's max, so training's own grid (max|w| per row) is that grid and
    keeps GPTQ's codes."""
    from azsim.compress.quantize import per_channel_scale, quantize_per_channel
    from azsim.model.loading import model_weights
    from azsim.train.loop import TrainConfig, gptq_init_weights
    with pytest.raises(ValueError, match="needs gptq_init"):
        TrainConfig(qat_bits=4, gptq_init_range="mse")
    with pytest.raises(ValueError, match="max or mse"):
        TrainConfig(qat_bits=4, gptq_init=True, gptq_init_range="p99")
    cfg = load_model_config("small", [])
    init = model_weights(cfg)
    start = gptq_init_weights(dict(init), cfg, 4, "mse")
    for name in ("enc.2.w_r", "pred.0.w_r", "joint.w_pred"):
        scale = per_channel_scale(init[name], 4, "mse")
        codes = np.rint(start[name] / scale[:, None])
        assert np.allclose(start[name], codes * scale[:, None], rtol=0, atol=1e-6), name
        assert np.any(scale < per_channel_scale(init[name], 4)), name      # clipped rows
        assert np.mean(quantize_per_channel(start[name], 4)[0] == codes) > 0.99, name


def test_encoder_only_and_decoder_only_exclude_each_other():
    from azsim.train.loop import TrainConfig
    with pytest.raises(ValueError, match="exclude each other"):
        TrainConfig(encoder_only=True, decoder_only=True)


def test_train_split_takes_the_names_train_supplement(tmp_path):
    """``azsim corpus --names-train N`` writes names_train.npz; training reads it with train."""
    from azsim.model.vocab import make_vocab
    from azsim.train.data import load

    def split(texts, frames):
        offsets = np.concatenate([[0], np.cumsum(frames)]).astype(np.int64)
        feats = np.arange(offsets[-1] * 2, dtype=np.float16).reshape(-1, 2)
        return {"features": feats, "offsets": offsets, "texts": np.array(texts)}
    np.savez(tmp_path / "train.npz", **split(["call mom", "stop"], [3, 2]))
    np.savez(tmp_path / "dev.npz", **split(["stop"], [2]))
    vocab = make_vocab("chars", 29)
    assert load(tmp_path, "train", vocab).size == 2
    np.savez(tmp_path / "names_train.npz", **split(["call ansel"], [4]))
    s = load(tmp_path, "train", vocab)
    assert list(s.texts) == ["call mom", "stop", "call ansel"]
    assert list(s.offsets) == [0, 3, 5, 9] and s.features.shape == (9, 2)
    assert s.frames(2) == 4 and len(s.targets) == 3
    assert load(tmp_path, "dev", vocab).size == 1     # only train takes the supplement


def test_vtlp_is_the_identity_at_alpha_one_and_moves_formants_the_right_way():
    from azsim.train import data
    np.testing.assert_allclose(data.vtlp_source_channels(1.0), np.arange(80), atol=1e-9)
    for alpha in (0.9, 1.1):
        pos = data.vtlp_source_channels(alpha)
        assert np.all(np.diff(pos) > 0)                       # monotone: no channel reversal
        assert 0 <= pos[0] and 78 < pos[-1] <= 79   # the band edge (past the last centre) is fixed
    # alpha > 1 (shorter vocal tract) reads lower channels: a formant moves up, and vice versa
    feats = torch.zeros(1, 3, 80)
    feats[0, :, 30] = 10.0
    up = data.vtlp(feats, np.random.default_rng(0), 1e-9)
    np.testing.assert_allclose(up.numpy(), feats.numpy(), atol=1e-5)
    peak = lambda a: float((data.vtlp_source_channels(a) - 30).__abs__().argmin())  # noqa: E731
    assert peak(1.1) > 30 > peak(0.9)
    warped = data.vtlp(feats, np.random.default_rng(0), 0.1)
    assert float(warped.max()) <= 10.0 and float(warped.min()) >= 0.0  # an interpolation
    assert not torch.equal(warped, feats)


def test_qat_keeps_the_auxiliary_ctc_loss_in_the_objective():
    from azsim.train.loop import TrainConfig, objective
    one = torch.ones(())
    cfg = TrainConfig(qat_bits=4, acos_weight=0.05, ctc_weight=0.3)
    assert float(objective(one, 2 * one, 10 * one, 0.5, cfg)) == pytest.approx(1 + 0.6 + 0.25)
    assert float(objective(one, 2 * one, 10 * one, 0.0, TrainConfig(ctc_weight=0.0))) == 1.0


def test_acos_ramp_waits_for_its_start_then_rises_linearly():
    from azsim.train.loop import TrainConfig, acos_ramp_factor
    plain = TrainConfig(qat_bits=4, acos_weight=50.0, acos_ramp=0.6)
    # the default start (0) is the ramp every recipe before E43 trained with
    assert [acos_ramp_factor(s, 1000, plain) for s in (0, 300, 600, 900)] == [0.0, 0.5, 1.0, 1.0]
    late = TrainConfig(qat_bits=4, acos_weight=50.0, acos_start=0.5, acos_ramp=0.4)
    assert [acos_ramp_factor(s, 1000, late) for s in (0, 499, 500, 700, 900, 999)] == \
        [0.0, 0.0, 0.0, 0.5, 1.0, 1.0]


@pytest.mark.parametrize("start,ramp", [(-0.1, 0.5), (1.0, 0.0), (0.5, 0.6), (0.0, -0.2)])
def test_an_acos_ramp_outside_training_is_refused(start, ramp):
    from azsim.train.loop import TrainConfig
    with pytest.raises(ValueError, match=f"acos_start {start} and acos_ramp {ramp}"):
        TrainConfig(qat_bits=4, acos_weight=50.0, acos_start=start, acos_ramp=ramp)


def test_prediction_dropout_acts_only_while_training():
    cfg = load_model_config("small", [])
    torch.manual_seed(0)
    model = TorchRNNT(cfg, np.zeros(80, np.float32), np.ones(80, np.float32))
    targets = torch.tensor([[3, 7, 1, 4]])
    model.eval()
    reference = model.predict(targets).detach()
    model.pred_dropout = 0.3
    np.testing.assert_array_equal(model.predict(targets).detach().numpy(), reference.numpy())
    model.train()
    noisy = model.predict(targets).detach()
    assert not torch.allclose(noisy, reference)
    model.pred_dropout = 0.0
    np.testing.assert_allclose(model.predict(targets).detach().numpy(), reference.numpy(),
                               atol=1e-6)


def test_switch_plan_starts_at_zero_and_alternates_branches():
    from azsim.train.loop import switch_plan
    rng = np.random.default_rng(0)
    for p in (0.0, 0.3, 1.0):
        plan = switch_plan(200, p, 5.0, rng)
        assert plan[0][0] == 0
        assert all(a[0] < b[0] < 200 for a, b in zip(plan, plan[1:]))
        assert all(a[1] != b[1] for a, b in zip(plan, plan[1:]))     # merged neighbours
    assert switch_plan(200, 0.0, 5.0, rng) == [(0, False)]
    assert switch_plan(200, 1.0, 5.0, rng) == [(0, True)]
    assert len(switch_plan(200, 0.5, 5.0, rng)) > 5


def test_switched_encoder_hands_the_lstm_state_over_at_every_switch():
    """Branch-switch training (issue #7): with a full branch equal to the cheap one, any plan
    gives exactly the unswitched encoder (the state crosses every chunk boundary, before and
    after the time reduction); with a different full branch, an all-full plan is that
    branch's encoder, and a switched plan differs from both."""
    import copy

    from azsim.train.loop import switch_plan
    cfg = load_model_config("small", [])
    torch.manual_seed(0)
    model = TorchRNNT(cfg, np.zeros(80, np.float32), np.ones(80, np.float32))
    feats = torch.from_numpy(np.random.default_rng(1).standard_normal((2, 97, 80),
                                                                      dtype=np.float32))
    n = torch.tensor([97, 80])
    plain, _ = model.encode(feats, n)
    steps = model.encoder_steps(97)
    assert steps == plain.shape[1]
    same = copy.deepcopy(model.enc)
    plan = switch_plan(steps, 0.5, 2.0, np.random.default_rng(2))
    assert len(plan) >= 3
    switched, _ = model.encode(feats, n, plan, same)
    torch.testing.assert_close(switched, plain, rtol=0, atol=1e-6)
    other = TorchRNNT(cfg, np.zeros(80, np.float32), np.ones(80, np.float32))
    other_out, _ = other.encode(feats, n)
    all_full, _ = model.encode(feats, n, [(0, False)], other.enc)
    torch.testing.assert_close(all_full, other_out, rtol=0, atol=1e-6)
    mixed, _ = model.encode(feats, n, plan, other.enc)
    assert not torch.allclose(mixed, plain) and not torch.allclose(mixed, other_out)
    first_full = next(s for s, cheap in plan if not cheap)
    torch.testing.assert_close(mixed[:, :first_full], plain[:, :first_full], rtol=0, atol=1e-6)


def test_branch_switch_needs_encoder_only():
    from azsim.train.loop import TrainConfig
    with pytest.raises(ValueError, match="encoder_only"):
        TrainConfig(branch_switch=0.5)
    TrainConfig(branch_switch=0.5, encoder_only=True)


def test_a_bad_init_fails_before_the_output_folder_is_made(cli, tmp_path):
    """``azsim train --init`` with a file that is no checkpoint: one line, exit 2, and no
    --out folder left behind."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    texts = np.array(["stop", "call mom"])
    for split in ("train", "dev"):
        np.savez(corpus / f"{split}.npz", features=np.zeros((40, 80), np.float16),
                 offsets=np.array([0, 20, 40]), texts=texts)
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"not a checkpoint")
    code, _, err = cli("train", "--corpus", str(corpus), "--out", str(tmp_path / "o"),
                       "--init", str(bad))
    assert code == 2 and "garbage.pt" in err and "not a readable checkpoint" in err
    assert not (tmp_path / "o").exists()
    # weights of another preset: the hint names how train picks its model, not --model,
    # which train lacks (a CLI audit, 2026-12-06)
    from azsim.config import load_model_config
    from azsim.model.weights import generate_weights, save_weights
    tiny = tmp_path / "tiny.npz"
    save_weights(tiny, generate_weights(load_model_config("tiny", [])))
    code, _, err = cli("train", "--corpus", str(corpus), "--out", str(tmp_path / "o"),
                       "--init", str(tiny))
    assert code == 2 and "fit the model preset 'tiny' (azsim train trains its recipe's" in err
    assert "(--model)" not in err and not (tmp_path / "o").exists()


def test_train_refuses_to_write_into_the_corpus(cli, tmp_path):
    """`--out` = the corpus folder wrote last.pt, weights.npz and the log among its splits."""
    corpus = _two_utterance_corpus(tmp_path / "c")
    (corpus / "corpus.json").write_text("{}")
    before = sorted(p.name for p in corpus.iterdir())
    code, _, err = cli("train", "--corpus", str(corpus), "--out", str(corpus))
    assert code == 2 and "holds a corpus" in err and err.count("\n") == 1, err
    assert sorted(p.name for p in corpus.iterdir()) == before


def _two_utterance_corpus(folder, n_dev=2):
    folder.mkdir()
    for split, n in (("train", 2), ("dev", n_dev)):
        np.savez(folder / f"{split}.npz", features=np.zeros((20 * n, 80), np.float16),
                 offsets=np.arange(n + 1) * 20,
                 texts=np.array(["stop", "call mom"][:n], dtype=str))
    return folder


def test_train_refuses_a_corpus_it_cannot_train_or_choose_a_checkpoint_on(cli, tmp_path):
    """No training or dev utterances, or --epochs too few for one step: one line, exit 2,
    no --out folder (it used to report 'best dev WER inf %' and write no weights)."""
    empty = _two_utterance_corpus(tmp_path / "c0", n_dev=0)
    ok = _two_utterance_corpus(tmp_path / "c2")
    for corpus, epochs, words in ((empty, "1", "dev.npz holds no utterances"),
                                  (ok, "0.01", "--epochs 0.01: makes no training step")):
        code, out, err = cli("train", "--corpus", str(corpus), "--out", str(tmp_path / "o"),
                             "--epochs", epochs)
        assert code == 2 and words in err and err.count("\n") == 1, err
        assert "inf" not in out + err and not (tmp_path / "o").exists()


def test_train_refuses_a_corpus_made_with_another_frontend(cli, tmp_path):
    """Features computed with a 20 ms hop would train a model whose config says 10 ms."""
    corpus = _two_utterance_corpus(tmp_path / "c")
    (corpus / "corpus.json").write_text(json.dumps({"frontend": {"hop_ms": 20.0}}))
    code, out, err = cli("train", "--corpus", str(corpus), "--out", str(tmp_path / "o"))
    assert code == 2 and err.count("\n") == 1, err
    assert "hop_ms = 20 where the model's model.frontend.hop_ms = 10" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("rows", [1, 5, 1 << 17, (1 << 17) + 1, 3 * (1 << 17) + 12345])
def test_feature_stats_in_chunks_equal_the_whole_array_bit_for_bit(rows):
    """feature_stats no longer widens the whole corpus to float64 at once (9 GB, twice, for
    58,000 utterances); its figures must stay those of the one-array formula exactly, or a
    training run would not reproduce its documented model."""
    from azsim.train import data
    rng = np.random.default_rng(rows)
    feats = (rng.standard_normal((rows, 8)) * 3 - 7).astype(np.float16)
    mean, std = data.feature_stats(data.Split(feats, np.array([0, rows]), np.array(["a"]), []))
    whole = feats.astype(np.float64)
    assert np.array_equal(mean, whole.mean(axis=0).astype(np.float32))
    assert np.array_equal(std, (whole.std(axis=0) + 1e-3).astype(np.float32))


@pytest.mark.parametrize("held", ["weights.npz", "last.pt", "train.log.jsonl"])
def test_train_refuses_an_out_folder_holding_a_run(cli, tmp_path, held):
    """A second run into one --out replaced the first's weights and checkpoint and appended
    to its log, exit 0 (2026-12-06 audit)."""
    corpus = _two_utterance_corpus(tmp_path / "c")
    out = tmp_path / "o"
    out.mkdir()
    (out / held).write_bytes(b"an earlier run's")
    code, _, err = cli("train", "--corpus", str(corpus), "--out", str(out))
    assert code == 2 and f"holds a training run ({held})" in err and err.count("\n") == 1, err
    assert (out / held).read_bytes() == b"an earlier run's"


def test_train_names_an_init_that_is_a_folder_or_an_empty_out(cli, tmp_path):
    corpus = _two_utterance_corpus(tmp_path / "c")
    code, _, err = cli("train", "--corpus", str(corpus), "--out", str(tmp_path / "o"),
                       "--init", str(tmp_path))
    assert code == 2 and "is a folder; give a checkpoint file" in err, err
    code, _, err = cli("train", "--corpus", str(corpus), "--out", "")
    assert code == 2 and "the path is empty" in err and err.count("\n") == 1, err


def test_ctc_feasible_is_exactly_where_ctcs_loss_is_finite():
    """ctc_feasible (labels plus equal neighbours <= steps) against torch's CTC itself: an
    utterance is feasible exactly when its loss without zero_infinity is finite."""
    from azsim.train.loop import ctc_feasible
    rng = np.random.default_rng(0)
    checked = {True: 0, False: 0}
    for _ in range(40):
        b, u, t = 6, 5, 8
        targets = torch.from_numpy(rng.integers(1, 3, (b, u)))   # two labels: many repeats
        n_labels = torch.from_numpy(rng.integers(0, u + 1, b))
        lengths = torch.from_numpy(rng.integers(1, t + 1, b))
        lp = torch.log_softmax(torch.randn(t, b, 4), -1)
        loss = torch.nn.functional.ctc_loss(lp, targets, lengths, n_labels, blank=0,
                                            reduction="none", zero_infinity=False)
        ok = ctc_feasible(targets, n_labels, lengths)
        assert ok.tolist() == torch.isfinite(loss).tolist()
        for v in ok.tolist():
            checked[v] += 1
    assert min(checked.values()) > 20     # both kinds occurred


def test_ctc_feasible_only_averages_over_the_utterances_ctc_can_align():
    """Without it an unalignable utterance counts as a zero in the batch mean; with it the
    mean is over the others."""
    from azsim.train.loop import _ctc_loss, ctc_feasible
    model = TorchRNNT(load_model_config("small", []), np.zeros(64, np.float32),
                      np.ones(64, np.float32))
    torch.manual_seed(0)
    enc_out = torch.randn(3, 6, model.ctc_head.in_features)
    targets = torch.tensor([[1, 2, 3], [4, 4, 4], [5, 6, 0]])
    n_labels = torch.tensor([3, 3, 2])
    lengths = torch.tensor([6, 4, 6])      # the second needs 3 + 2 repeats = 5 steps
    lp = torch.log_softmax(model.ctc_head(enc_out), -1).transpose(0, 1)
    per = torch.nn.functional.ctc_loss(lp, targets, lengths, n_labels, reduction="none",
                                       zero_infinity=True).detach()
    assert float(per[1]) == 0.0
    both = float(per[0] + per[2])
    assert float(_ctc_loss(model, enc_out, targets, lengths, n_labels, None)) == \
        pytest.approx(both / 3, rel=1e-5)
    assert float(_ctc_loss(model, enc_out, targets, lengths, n_labels,
                           ctc_feasible(targets, n_labels, lengths))) == \
        pytest.approx(both / 2, rel=1e-5)


def test_ctc_head_warmup_trains_the_head_alone_and_lowers_its_loss(tmp_path):
    """A fine-tune from a .npz starts with a random CTC head (not in the weights file);
    warm-up trains only the head on the frozen encoder, and the run logs how far it got."""
    from azsim.train.loop import TrainConfig
    tcfg = TrainConfig(epochs=1, threads=1, warmup_steps=1, lr=1e-9, final_lr=1e-9,
                       ctc_head_warmup_steps=20, ctc_head_warmup_lr=1e-2,
                       ctc_feasible_only=True, spec_augment=False)
    init, w = _train_from_shipped_small(tmp_path, tcfg)
    log = [json.loads(line) for line in (tmp_path / "o" / "train.log.jsonl").open()]
    warm = [e for e in log if e["event"] == "ctc_head_warmup"]
    assert len(warm) == 1 and warm[0]["steps"] == 20
    assert warm[0]["ctc_last_tenth"] < 0.8 * warm[0]["ctc_first_tenth"]
    assert all("ctc_infeasible" in e and e["ctc"] > 0 for e in log if e["event"] == "train")
    # the exported model is the init's (the head is not exported; lr 1e-9 leaves the rest)
    for name in ("enc.0.w_x", "pred.0.w_x", "joint.w_out"):
        np.testing.assert_allclose(w[name], init[name], atol=1e-6, err_msg=name)
    # a continuation from last.pt has its trained head: no second warm-up
    from azsim.train.loop import train
    train(load_model_config("small", []), tmp_path / "c", tmp_path / "o2", tcfg,
          init=str(tmp_path / "o" / "last.pt"))
    log2 = [json.loads(line) for line in (tmp_path / "o2" / "train.log.jsonl").open()]
    warm2 = [e for e in log2 if e["event"] == "ctc_head_warmup"]
    assert len(warm2) == 1 and warm2[0]["steps"] == 0 and "checkpoint" in warm2[0]["skipped"]


def test_unalignable_utterances_are_counted_with_the_ctc_loss_off_too(tmp_path, monkeypatch):
    """The log's ctc_infeasible is a property of the data and the encoder's frame rate; a run
    without the CTC loss (ctc_weight 0) counts them as one with it does. (Synthesized
    requests are rarely unalignable, so here every utterance is declared so.)"""
    from azsim.train import loop
    from azsim.train.loop import TrainConfig
    monkeypatch.setattr(loop, "ctc_feasible",
                        lambda targets, n_labels, lengths: torch.zeros(len(n_labels), dtype=bool))
    counts = []
    for k, weight in enumerate((0.0, 0.3)):
        sub = tmp_path / str(k)
        _train_from_shipped_small(sub, TrainConfig(epochs=1, threads=1, warmup_steps=1,
                                                   ctc_weight=weight, spec_augment=False))
        log = [json.loads(line) for line in (sub / "o" / "train.log.jsonl").open()]
        counts.append([e["ctc_infeasible"] for e in log if e["event"] == "train"])
    assert counts[0] == counts[1] and counts[0][-1] > 0


def test_ctc_warmup_and_feasible_only_need_the_ctc_loss():
    from azsim.train.loop import TrainConfig
    with pytest.raises(ValueError, match="need the CTC loss"):
        TrainConfig(ctc_weight=0.0, ctc_head_warmup_steps=10)
    with pytest.raises(ValueError, match="need the CTC loss"):
        TrainConfig(decoder_only=True, ctc_feasible_only=True)
    with pytest.raises(ValueError, match="ctc_head_warmup_steps -1"):
        TrainConfig(ctc_head_warmup_steps=-1)


def test_epochs_beyond_a_finite_step_count_are_a_one_line_error(tmp_path):
    """epochs x batches per epoch overflowing a float was an OverflowError traceback from
    int() (``azsim train --epochs 1e308`` on a corpus of 3 batches an epoch; a training
    audit); it is refused, naming --epochs, before the output folder is made."""
    pytest.importorskip("shutil").which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus.build import build_corpus
    from azsim.errors import AzsimError
    from azsim.train.loop import TrainConfig, train
    build_corpus(tmp_path / "c", {"train": 4, "dev": 2}, seed=1, jobs=1, voice_split_seed=0)
    cfg = load_model_config("small", [])
    with pytest.raises(AzsimError, match=r"--epochs 1e\+308: .* not a finite number"):
        train(cfg, tmp_path / "c", tmp_path / "o",
              TrainConfig(epochs=1e308, threads=1, max_batch_frames=600))
    assert not (tmp_path / "o").exists()


def test_a_diverging_run_stops_in_one_line_instead_of_saving_nan_weights(tmp_path):
    """A run whose loss went NaN (``azsim train --lr 1e30``) ended "done", exit status 0,
    with a weights.npz of NaN that azsim refuses to load (a training audit). It stops at the
    first non-finite loss, or at a dev evaluation of weights azsim would refuse, naming the
    step and the rate; a weights.npz it leaves loads."""
    from azsim.errors import AzsimError
    from azsim.train.loop import TrainConfig
    with pytest.raises(AzsimError, match=r"training diverged after \d+ of 3 steps: "):
        _train_from_shipped_small(tmp_path, TrainConfig(epochs=3, threads=1, warmup_steps=1,
                                                        lr=1e30, final_lr=1e-5, dev_limit=1))
    from azsim.model.weights import load_weights
    if (tmp_path / "o" / "weights.npz").exists():   # an epoch before it, finite: it loads
        load_weights(tmp_path / "o" / "weights.npz", load_model_config("small", []))
    events = [json.loads(line) for line in
              (tmp_path / "o" / "train.log.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "diverged"


def test_a_continuation_draws_on_instead_of_repeating_the_first_run(tmp_path, monkeypatch):
    """A run from a checkpoint was seeded by the seed alone, so it drew the first run's batch
    order and SpecAugment masks again, epoch for epoch (a training audit). It is seeded by
    the seed and the steps its chain has taken; a run from a .npz is seeded as before."""
    import hashlib

    from azsim.model.loading import shipped_weights_dir
    from azsim.train import data
    from azsim.train.loop import TrainConfig, train
    drawn: list = []
    augment = data.spec_augment

    def recorded(feats, *args, **kwargs):
        out = augment(feats, *args, **kwargs)
        drawn.append(hashlib.sha1((out - feats).numpy().tobytes()).hexdigest())
        return out

    monkeypatch.setattr(data, "spec_augment", recorded)
    tcfg = TrainConfig(epochs=1, threads=1, warmup_steps=1, lr=1e-4, final_lr=1e-5,
                       dev_limit=1, max_batch_frames=600)
    _train_from_shipped_small(tmp_path, tcfg)
    first, drawn[:] = list(drawn), []
    cfg = load_model_config("small", [])
    train(cfg, tmp_path / "c", tmp_path / "again", tcfg,
          init=str(tmp_path / "o" / "last.pt"))
    assert drawn and len(drawn) == len(first) and drawn != first
    steps = torch.load(tmp_path / "o" / "last.pt", weights_only=True)["steps_total"]
    chained = torch.load(tmp_path / "again" / "last.pt", weights_only=True)["steps_total"]
    assert chained == 2 * steps > 0
    drawn[:] = []   # the same run from the .npz again draws what it drew
    train(cfg, tmp_path / "c", tmp_path / "same", tcfg,
          init=str(shipped_weights_dir() / "small.npz"))
    assert drawn == first

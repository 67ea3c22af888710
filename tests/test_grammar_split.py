"""examples/grammar_split.py: the grammar split of a test set's WER (README, issue #6)."""
import importlib.util
import json
from pathlib import Path

import numpy as np

_PATH = Path(__file__).resolve().parents[1] / "examples" / "grammar_split.py"


def _module():
    spec = importlib.util.spec_from_file_location("grammar_split", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_classify_marks_the_references_the_grammar_draws(tmp_path, monkeypatch):
    from azsim.corpus import grammar
    mod = _module()
    monkeypatch.setattr(grammar, "sentences",
                        lambda n, seed, version: ["turn on the light", "stop"] * (n // 2))
    split = tmp_path / "s.npz"
    np.savez(split, texts=np.array(["stop", "tell me a joke", "turn on the light"]))
    mod.classify(str(tmp_path / "c.json"), [str(split)], 10, 0)
    rec = json.loads((tmp_path / "c.json").read_text())
    assert rec["distinct"] == 2 and rec["splits"][0]["earlier"] == [True, False, True]


def test_wer_counts_word_errors_on_each_part(tmp_path, capsys):
    mod = _module()
    (tmp_path / "c.json").write_text(json.dumps({"splits": [{"earlier": [True, False]}]}))
    hyps = [{"reference": "set a timer", "hypothesis": "set the timer"},     # 1 of 3
            {"reference": "tell me a joke", "hypothesis": "tell me"}]         # 2 of 4
    (tmp_path / "e.json").write_text(json.dumps({"hypotheses": hyps}))
    mod.wer(str(tmp_path / "c.json"), [str(tmp_path / "e.json")])
    row = capsys.readouterr().out.strip().splitlines()[-1]
    assert row.endswith("| 42.86 | 33.33 (3 words) | 50.00 (4 words) |")

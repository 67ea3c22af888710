"""Validation against published silicon (issue #4, item 6).

``azsim validate eie`` simulates EIE's nine benchmark layers (Han et al., ISCA 2016) on an
EIE-style PE array (the cycle model of ``azsim run`` on the eie-64pe preset), driven by random
data of the published sizes and densities, and compares the simulated times with the published
ones; ``azsim validate FILE.toml`` does the same for a user's own architecture and layers
(format: :mod:`azsim.validate.spec`).
"""
from .eie import random_layer, run_suite, simulate_layer
from .report import LayerResult, ValidationReport, render_text
from .spec import ValidationLayer, ValidationSuite, list_suites, load_suite

__all__ = ["load_suite", "list_suites", "run_suite", "simulate_layer", "random_layer",
           "render_text", "ValidationLayer", "ValidationSuite",
           "LayerResult", "ValidationReport"]

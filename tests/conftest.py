"""Test setup.

Tests import the INSTALLED azsim (the source tree's ``azsim/`` lacks ``azsim.kernels``, which
installs from ``kernels/``), so pytest runs in importlib mode and only ``tests/`` itself goes on
``sys.path``, for the NumPy twins in ``tests/reference``.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

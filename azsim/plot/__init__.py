"""Figures of sweep results (issue #5): matplotlib, headless (Agg), functions return Figures."""

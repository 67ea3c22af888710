"""On-device decoding (issue #7): beam search over the integer RNN-T (``beam``), word
lattices and their uplink serialization (``lattice``), shallow-fusion contextual biasing
(``context``), final and speculative end-pointers (``endpoint``), fixed-point scores
(``scores``) and the report sections (``summary``)."""

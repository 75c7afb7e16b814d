"""How far an insert may differ from a miRNA and still be placed on it (mirtop's isomiR limits).

Shared by the reference (which indexes every isoform within these limits), the placement
(:mod:`exomir.quant.isomir`) and the numba screen (:mod:`exomir.quant.screen`); kept apart
so that each of them reads the same numbers from one place below all of them.
"""

MAX_ADD = 3  # non-templated 3′ nucleotides
MAX_SNV = 1  # substitutions against the hairpin
MAX_5P = 3  # 5′ end shift (nt) from the mature arm's start
MAX_3P = 5  # templated 3′ end shift (nt) from the mature arm's end
SEED_K = 10  # hairpin k-mer length for placing inserts off the mature arms (rarely hit by chance)

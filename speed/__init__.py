"""SPEED: sparse parameterization for epitomic dataset distillation (NeurIPS 2023).

Modules, one concept each: ``freenet`` (FReeNet with multi-head sparse coding), ``sparsify``
(top-k of the sparse coding matrices), ``coo`` (the stored sparse format), ``planner`` (eq. 7 and
presets), ``parameterization`` (the learnable synthetic set), ``decoder`` (buffer → images),
``strategy`` (the registered strategy) and ``pictures`` (figures of a buffer). ``plugin``
registers them lazily.
"""

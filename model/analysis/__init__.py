"""Analyses of the model: summary statistics (``summary``), report mode (``report``), the year model (``jaren``),
sensitivity (``sensitivity``, generic; ``sensitivity_npvr``, on the engine) and the Bayesian calibration
(``calibration``)."""

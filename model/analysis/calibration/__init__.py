"""Bayesian calibration (PyMC, NUTS) of the hidden kentallen against the report's published figures.

The report prints totals, not its kentallen. Many priors (status ``afgeleid``) were derived so that report mode
reproduces those totals; the calibration asks the inverse question with the full prior uncertainty: *given* the
printed figures, what do the priors become? One model definition, from the same prior files and kernel formulas
as the numba engine:

- ``transforms``: the engine's transform from normal scores to prior values, in PyTensor;
- ``model``: the PyMC model (priors, copula, kernels, the printed figures as observations with their rounding and
  a model discrepancy), and report mode's value of every figure;
- ``sampling``: the configurations, NUTS and the diagnostics that decide whether a run is usable;
- ``tables``: prior vs posterior per entry and the posterior predictive check per figure.

``model.jobs.calibrate`` writes a calibration into a run folder and reads its posterior back for the engine.
"""

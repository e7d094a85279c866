"""Jobs: each command's work from inputs to a finished run folder, as one library function that the CLI, the
notebooks and a user's script call alike: ``run`` (the Monte Carlo run), ``sensitivity`` (tornado, Sobol'),
``calibrate`` (the Bayesian calibration, and reading its posterior back) and ``batch`` (scenarios × seeds on
Dask, each task a run job)."""

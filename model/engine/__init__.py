"""The Monte Carlo engine: the plan of a run (``plan``), the generated and compiled model (``codegen`` from the
``template`` of its entry points), the steps on a block of draws (``blocks``), the random numbers (``rng``) and
compiled numerics (``numerics``), and the run itself (``run``)."""

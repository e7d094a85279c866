"""The numbers that define a run's random stream and that the command line needs before the engine loads: the
chunk size (part of the stream's definition: chunk *k* draws from ``SeedSequence(seed, spawn_key=(k,))``,
``model.engine.rng``) and the range of seeds (stored in every manifest as a 64-bit integer). No imports: reading
them costs nothing."""

#: Draws per chunk of a run, by default.
DEFAULT_CHUNK = 1 << 15
#: Seeds are non-negative and below 2**63 (9223372036854775808): a manifest stores them as 64-bit integers.
MAX_SEED = 2**63

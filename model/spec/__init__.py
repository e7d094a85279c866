"""The input specification: the prior files (``priors``, read by ``distributions``, fitted by ``fitting`` with the
family codes of ``families``), the declared correlations (``dependence``), the municipality data (``data``), the
year priors (``jaren``), scenario overlays (``scenarios``) and the report's printed figures (``published``)."""

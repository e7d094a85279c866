"""Output: the run-folder protocol and manifest (``runfolder``), the labelled netCDF (``dataset``), tables and the
``summary.csv`` schema (``tables``), number formats (``format``) and every plot (``plots``)."""

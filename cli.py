"""Command line of the NPVR model: ``python cli.py --help`` lists the commands (``model.commands``).

    python cli.py run [--draws N] ...       Monte Carlo run (see `python cli.py run --help`)
    python cli.py reproduce [--json]        report mode: Table 1.2 from the priors' point values

Every command works on the embedded defaults (priors/, data/, scenarios/) unless told otherwise.
"""

import sys

from model.commands import main

if __name__ == "__main__":
    sys.exit(main())

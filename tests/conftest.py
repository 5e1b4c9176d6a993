"""Keep this checkout's folders from shadowing installed packages.

``python -m pytest`` (the README's test command) puts the working directory first on sys.path,
where the repository's ``kernels/`` folder (installed as ``mhc_kernels``) would shadow PyPI's
``kernels`` package, which transformers imports whenever it is installed (transformers >= 5
requires it). The suite's own packages are installed, so the checkout itself need not be on the
path; PYTHONSAFEPATH keeps it off the path of the Python processes the tests start, too.
"""

import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or os.getcwd()).resolve() != _ROOT]
os.environ["PYTHONSAFEPATH"] = "1"

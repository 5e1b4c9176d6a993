import sys

from mhc_verify.cli import main

sys.exit(main())

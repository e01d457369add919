"""`python -m regionflow.flows.cli`: the same as the `regionflow` command."""

import sys

from regionflow.flows.cli import main

sys.exit(main())

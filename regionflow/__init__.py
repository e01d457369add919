"""regionflow: illustrations and comics into regions (README.md, docs/).

The distribution's one top-level package. Its subpackages keep their folders at the top of the
repository — `regionflow.flows` is flows/, likewise tasks/, storage/, models/ and regions/ —
mapped by pyproject.toml's `package-dir`; an installed wheel holds them under regionflow/.
"""

import os as _os

# A checkout without setuptools' editable finder (a script that puts the repository root on
# sys.path, or a regular install shadowed by the checkout it runs in) finds the subpackages one
# folder up; where they lie beside this file (a wheel), nothing is added.
_here = _os.path.dirname(__file__)
if not _os.path.isdir(_os.path.join(_here, "flows")):
    __path__.append(_os.path.dirname(_here))

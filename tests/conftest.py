"""Test settings shared by the whole suite: one hypothesis profile for CI, one for local runs.

Under CI (`CI=true`, as `.ci/run` is run) every property test is derandomized: the same
examples on every run, so a failure is never a matter of luck and reproduces as it is. Locally
the examples vary from run to run (more of the space gets tried over time), and a failure
prints the blob `@reproduce_failure` needs. `HYPOTHESIS_PROFILE=ci|dev` chooses explicitly.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("dev", print_blob=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI") else "dev"))

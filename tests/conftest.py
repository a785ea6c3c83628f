"""Settings for the whole suite."""

import os

# Fitting ahead (ui/fit_ahead.py) would fit families in the background of every app test and of
# every server a browser test starts, competing for the cores with the test under way. The tests
# of fitting ahead switch it on themselves.
os.environ.setdefault("SCALECORE_FIT_AHEAD", "0")

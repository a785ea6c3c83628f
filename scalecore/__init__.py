"""scalecore: fit scaling laws to training runs, with honest uncertainty.

The public API; everything else is an implementation detail::

    runs = load_runs("runs.csv")
    result = fit(runs, FitSpec("chinchilla", exclude=("run-17",)))   # or fit(runs, "chinchilla", ...)
    boot = result.bootstrap(1000, seed=0)                             # no refit
    boot.estimates["alpha"]                                           # Estimate(value, low, high, ...)

An analysis's fit and bootstrap settings are one :class:`Settings` (what saved analyses, the app's
links and the CLI share): ``fit(runs, settings.spec("chinchilla")).bootstrap(**settings.bootstrap_options)``.
"""

from .bootstrap import BootstrapResult
from .fitting import bootstrap
from .comparison import Comparison, compare
from .budget import chinchilla_optimum, iso_flop_optimum
from .curves import Approach1Fit, Curves, Envelope, approach1, envelope, load_curves
from .data import Runs, load_runs, parse_number
from .backtest import Backtest, RollingBacktest, backtest, rolling_backtest
from .diagnostics import UNSUPPORTED_DELTA_AIC, unsupported, compare_families, influence, residual_table, suggest_outliers
from .diagnostics import RESIDUAL_HEADERS, residual_header, run_residuals, shown_residuals, with_without
from .downstream import ACCURACY_FORMULA, ChainedPrediction, DownstreamResult, fit_downstream
from .errors import NotIdentified, DataError, FitError, ScaleCoreError
from .families import FAMILIES, Family, get_family
from .fitting import FitResult, fit, predict
from .spec import FitSpec, Settings, SpecError
from .uncertainty import Band, Estimate
from .isoflop import ApproachComparison, IsoFlopResult, compare_with_approach3, isoflop_profiles
from .joint import JointFit, joint_fit

__version__ = "0.1.0"

__all__ = [
    "NotIdentified",
    "ACCURACY_FORMULA",
    "UNSUPPORTED_DELTA_AIC",
    "unsupported",
    "ApproachComparison",
    "Curves",
    "Approach1Fit",
    "Envelope",
    "IsoFlopResult",
    "compare_with_approach3",
    "envelope",
    "approach1",
    "isoflop_profiles",
    "JointFit",
    "joint_fit",
    "load_curves",
    "FAMILIES",
    "Band",
    "BootstrapResult",
    "ChainedPrediction",
    "Comparison",
    "DataError",
    "DownstreamResult",
    "Estimate",
    "Family",
    "FitError",
    "FitResult",
    "FitSpec",
    "Runs",
    "ScaleCoreError",
    "Settings",
    "SpecError",
    "__version__",
    "Backtest",
    "RollingBacktest",
    "backtest",
    "rolling_backtest",
    "compare",
    "compare_families",
    "influence",
    "residual_table",
    "run_residuals",
    "RESIDUAL_HEADERS",
    "residual_header",
    "shown_residuals",
    "with_without",
    "suggest_outliers",
    "bootstrap",
    "chinchilla_optimum",
    "fit",
    "fit_downstream",
    "get_family",
    "iso_flop_optimum",
    "load_runs",
    "parse_number",
    "predict",
]

from .isoflop import IsoFlopGroups, isoflop_by_group  # noqa: E402 -- one IsoFLOP analysis per group (issue 21)

__all__ += ["IsoFlopGroups", "isoflop_by_group"]

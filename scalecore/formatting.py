"""Numbers as people read them: values rounded to their uncertainty, readable tables.

Rounding follows the Particle Data Group rule (as iminuit does): the uncertainty's three leading
digits decide whether it keeps two significant digits (100-354), one (355-949) or is rounded up
to two (950-999); the value is rounded to the same decimal place.
"""

from __future__ import annotations

import math


def _decimal_place(err: float) -> int:
    """Power of ten of the last digit to keep for an uncertainty ``err`` (PDG rule)."""
    if not (math.isfinite(err) and err > 0):
        return 0
    exp = math.floor(math.log10(err))
    lead = int(round(err / 10 ** (exp - 2)))  # three leading digits, 100..999 (1000 after rounding)
    if lead >= 1000:
        exp, lead = exp + 1, 100
    if lead <= 354:
        return exp - 1
    if lead <= 949:
        return exp
    return exp  # 950-999 rounds up to 1000 with two digits: 1.0 x 10^(exp+1)


def _fmt_at(value: float, place: int, scientific: bool) -> str:
    """``value`` rounded at the decimal ``place``; in scientific notation with its own exponent
    (normalised: ``8.9e+10``, never ``0.89e+11``), as many digits as reach that place."""
    rounded = round(value, -place)
    if not scientific:
        return f"{rounded:.{max(-place, 0)}f}"
    if rounded == 0:
        return "0"
    exponent = math.floor(math.log10(abs(rounded)))
    return f"{rounded / 10**exponent:.{max(exponent - place, 0)}f}e{exponent:+03d}"


def _scientific(*values: float) -> bool:
    """Whether numbers this large or small (the largest decides) are written with exponents."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    big = max(finite) if finite else 0
    if big == 0:
        return False
    e = math.floor(math.log10(big))
    return e >= 5 or e <= -4


def short_number(v: float) -> str:
    """Short number for labels: 2.31, 7e+10 -> "7e10", 1.4e12 -> "1.4e12"."""
    if not math.isfinite(v):
        return "–"
    a = abs(v)
    if a == 0 or 1e-3 <= a < 1e4:
        return f"{v:.3g}"
    mantissa, exponent = f"{v:.3g}".split("e") if "e" in f"{v:.3g}" else (f"{v:.3g}", "0")
    return f"{mantissa}e{int(exponent)}"


#: Suffixes of counts (parameters, tokens, money) as people write them: 70B, 1.4T, $1.8M.
COUNT_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def scale_text(v: float, axis: str | None) -> str:
    """A scale as people type it: counts (``params``, ``tokens``) with a suffix, 7e10 -> "70B",
    1.4e12 -> "1.4T"; compute and anything else as :func:`short_number` ("1e24"); None as ""."""
    if v is None:
        return ""
    a = abs(v) if math.isfinite(v) else 0.0
    if axis in ("params", "tokens") and 1e3 <= a < 1e15:
        scale, suffix = next((f, sfx) for f, sfx in COUNT_SUFFIXES if a >= f)
        return f"{v / scale:.3g}{suffix}"
    return short_number(v)


def format_number(value: float, sig: int = 4) -> str:
    """A value with no uncertainty: ``sig`` significant digits, scientific when large or tiny."""
    if value is None or not math.isfinite(value):
        return "nan" if value is None or math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value == 0:
        return "0"
    e = math.floor(math.log10(abs(value)))
    if e >= 5 or e <= -4:
        return f"{value:.{sig - 1}e}"
    return f"{value:.{max(sig - 1 - e, 0)}f}"


def format_interval(value: float, low: float, high: float) -> tuple[str, str, str]:
    """``value``, ``low``, ``high`` rounded together to the precision of the interval.

    The narrower half-width of the interval sets the decimal place (PDG rule). Returns three
    strings. Very large or small numbers are each written in normalised scientific notation, all
    three to that same decimal place (``8.9e+10``, ``6.1e+10``, ``1.32e+11``), so that values in
    a column compare at a glance. A nonzero end that would round to zero there (the low end of an
    interval spanning decades: ``N_c`` 1.5e+13 [2.3e+09, 3.87e+14]) keeps two significant digits
    of its own: "0" would read as a bound at zero. (A value rounded to zero is PDG's: consistent
    with zero at that precision.)
    """
    if not all(math.isfinite(v) for v in (value, low, high)):
        return format_number(value), format_number(low), format_number(high)
    half = min(abs(value - low), abs(high - value)) or max(abs(value - low), abs(high - value))
    if half == 0:
        return (format_number(value),) * 3
    place = _decimal_place(half)
    scientific = _scientific(value, low, high)

    def end(v: float) -> str:
        own = place if v == 0 or round(v, -place) != 0 else math.floor(math.log10(abs(v))) - 1
        return _fmt_at(v, own, scientific)

    return _fmt_at(value, place, scientific), end(low), end(high)


def format_estimate(value: float, low: float, high: float) -> str:
    """``"0.348 [0.331, 0.365]"``."""
    v, lo, hi = format_interval(value, low, high)
    return f"{v} [{lo}, {hi}]"


def fit_table(fit, boot=None) -> str:
    """A fixed-width table of a fit (and its bootstrap intervals, when given)."""
    lines = [
        f"{fit.family.label} ({fit.family.name}) fitted to `{fit.y}`"
        + (f" against `{fit.x}`" if fit.x else " against N and D"),
        f"{fit.n_points} runs used, {fit.n_excluded} excluded; objective {fit.objective:.6g} "
        f"(sum of {'Huber' if fit.problem.loss == 'huber' else 'squared'} residuals"
        + (f", delta={fit.problem.delta:g}" if fit.problem.loss == "huber" else "")
        + ")",
        "",
    ]
    if boot is not None:
        lines.append(f"{'parameter':<12} {'value':>14} {'low':>14} {'high':>14}   ({boot.interval_label})")
        ci = boot.confidence_interval
        for name, value in fit.params.items():
            v, lo, hi = format_interval(value, *ci[name])
            lines.append(f"{name:<12} {v:>14} {lo:>14} {hi:>14}")
    else:
        lines.append(f"{'parameter':<12} {'value':>14}")
        for name, value in fit.params.items():
            lines.append(f"{name:<12} {format_number(value, 6):>14}")
    lines += [
        "",
        f"RMSE of log residuals {format_number(fit.rmse_log)}   AIC {fit.aic:.2f}   BIC {fit.bic:.2f}   {fit.message}",
    ]
    warnings = list(fit.warnings) + (list(boot.warnings) if boot is not None else [])
    lines += [f"warning: {w}" for w in warnings]
    return "\n".join(lines)

"""Numbers as people read them: one format for every page, table, hover, report and CLI line.

Rounding follows the Particle Data Group rule (as iminuit does): the uncertainty's three leading
digits decide whether it keeps two significant digits (100-354), one (355-949) or is rounded up
to two (950-999); the value is rounded to the same decimal place.

:func:`format_estimate` is the one way to write "value [low, high]" (and :func:`format_value` one
number alone); a ``kind`` says what the number is:

========== ===================================================== ===========================
kind       written                                               example
========== ===================================================== ===========================
plain      PDG-rounded; exponents (``e+10``) when large or tiny   ``0.348 [0.330, 0.365]``
loss       as plain                                              ``1.960``
count      parameters, tokens, hours: K/M/B/T suffixes           ``72B [65B, 130B]``
flops      normalised scientific notation                        ``2.47e23 [2.31e23, 3.90e23]``
money      dollars with a count suffix                           ``$1.755M``
fraction   a percentage                                          ``20.3% [17.3%, 30.1%]``
days       a plain number, no exponent below a billion days      ``30.00``
========== ===================================================== ===========================

The rules, the same for every kind:

- the interval's narrower half-width sets the decimal place (PDG) of all three numbers; when the
  value sits at one end of its interval (the narrow side is under 1% of the wide one: a penalty of
  0 at N* itself), the wide side sets it;
- every number in scientific notation is normalised on its own (``8.9e+10``, ``1.32e+11``; never
  ``13.0e23`` or ``0.351e26``);
- a nonzero number that would round to zero at that place keeps two significant digits of its own
  ("0" would read as a bound at zero, or as an answer of zero), except the near end of a one-sided
  interval whose value is exactly zero, which reads as the value does (``0.000 [0.000, 0.023]``);
- counts and money so far apart that one suffix would write a number below 1 (``0.0045T``) give
  each number its own suffix and two significant digits (``70B [4.5B, 1.3T]``);
- an infinite end is ``unbounded`` (the value and the finite end then keep three significant
  digits); no interval (NaN ends) or an exact one (low == high) gives the value alone, with
  ``digits`` significant digits.
"""

from __future__ import annotations

import math

#: What a number is, and so how it is written (see the module docstring).
KINDS = ("plain", "loss", "count", "flops", "money", "fraction", "days")

#: Suffixes of counts (parameters, tokens, money) as people write them: 70B, 1.4T, $1.8M.
COUNT_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))
#: Counts from here on are written with an exponent (1.2e16), not as tens of thousands of trillions.
_COUNT_LIMIT = 1e16
#: Days are written without an exponent below this.
_DAYS_LIMIT = 1e9


def _exp10(x: float) -> int:
    """The power of ten of ``|x|`` (nonzero, finite): 9.99 -> 0, 10 -> 1, robust to log10's rounding."""
    a = abs(x)
    e = math.floor(math.log10(a))
    if 10.0 ** (e + 1) <= a:
        e += 1
    elif 10.0**e > a:
        e -= 1
    return e


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


def _exponent(e: int, compact: bool) -> str:
    return f"e{e}" if compact else f"e{e:+03d}"


def _fmt_at(value: float, place: int, scientific: bool, compact: bool = False) -> str:
    """``value`` rounded at the decimal ``place``; in scientific notation with its own exponent
    (normalised: ``8.9e+10``, never ``0.89e+11``; ``8.9e10`` when ``compact``), as many digits as
    reach that place."""
    rounded = round(value, -place)
    if not scientific:
        return f"{rounded:.{max(-place, 0)}f}"
    if rounded == 0:
        return "0"
    exponent = _exp10(rounded)
    return f"{rounded / 10**exponent:.{max(exponent - place, 0)}f}{_exponent(exponent, compact)}"


def _scientific(*values: float) -> bool:
    """Whether numbers this large or small (the largest decides) are written with exponents."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    big = max(finite) if finite else 0
    if big == 0:
        return False
    e = _exp10(big)
    return e >= 5 or e <= -4


def _alone(value: float, sig: int, mode: str = "auto", compact: bool = False) -> str:
    """One number with ``sig`` significant digits; ``mode`` says when it takes an exponent: "auto"
    (from 1e5, below 1e-3), "always", or "days" (from 1e9, below 1e-3)."""
    if value == 0:
        return "0"
    rounded = float(f"{value:.{sig - 1}e}")
    e = _exp10(rounded)
    sci = mode == "always" or e <= -4 or e >= (9 if mode == "days" else 5)
    if sci:
        mantissa, exponent = f"{value:.{sig - 1}e}".split("e")
        return mantissa + _exponent(int(exponent), compact)
    return f"{value:.{max(sig - 1 - e, 0)}f}"


def _interval(v: float, lo: float, hi: float, mode: str, compact: bool) -> tuple[str, str, str]:
    """Three finite numbers rounded together (the rules of the module docstring)."""
    d_lo, d_hi = abs(v - lo), abs(hi - v)
    small, big = sorted((d_lo, d_hi))
    one_sided = small < 0.01 * big
    place = _decimal_place(big if one_sided else small)
    largest = max(abs(v), abs(lo), abs(hi))
    if mode == "always":
        scientific = True
    elif mode == "days":
        scientific = largest != 0 and (_exp10(largest) >= 9 or _exp10(largest) <= -4)
    else:
        scientific = _scientific(v, lo, hi)

    def show(x: float, near: bool) -> str:
        if x == 0 or round(x, -place) != 0 or (near and v == 0):
            return _fmt_at(x, place, scientific, compact)
        own = _exp10(x) - 1  # two significant digits of its own
        return _fmt_at(x, own, scientific or own <= -6, compact)

    near_low = one_sided and d_lo <= d_hi
    return show(v, False), show(lo, near_low), show(hi, one_sided and not near_low)


def _texts(v: float, lo: float, hi: float, kind: str, digits: int) -> tuple[str, str | None, str | None]:
    """The value and the ends as text in ``kind``'s notation; the ends None when there is no
    interval (NaN ends, or exact)."""
    if kind not in KINDS:
        raise ValueError(f"unknown number kind `{kind}`; choose one of {', '.join(KINDS)}")
    v, lo, hi = float(v), float(lo), float(hi)
    if not math.isfinite(v):
        return ("unbounded" if v == math.inf else "n/a"), None, None
    finite = [abs(x) for x in (v, lo, hi) if math.isfinite(x)]
    size = max(finite)
    scale, pre, post, mode, compact = 1.0, "", "", "auto", False
    if kind == "fraction":
        scale, post = 0.01, "%"
    elif kind in ("count", "money") and size >= _COUNT_LIMIT:
        mode, compact = "always", True
    elif kind in ("count", "money") and size >= 1e3 and _wide(v, lo, hi, size):
        return tuple(_suffixed(x, pre="$" if kind == "money" else "") for x in (v, lo, hi))
    elif kind in ("count", "money") and size >= 1e3:
        scale, post = next((f, sfx) for f, sfx in COUNT_SUFFIXES if size >= f)
    elif kind == "flops":
        mode, compact = "always", True
    elif kind == "days":
        mode = "days"
    if kind == "money":
        pre = "$"

    def wrap(text: str) -> str:
        if text == "unbounded":
            return text
        sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
        return f"{sign}{pre}{text}{post}"

    if scale != 1.0:  # scaled once, to 12 significant digits (10.0**12 is not exactly 1e12)
        v, lo, hi = (float(f"{x / scale:.12g}") if math.isfinite(x) else x for x in (v, lo, hi))
    if math.isnan(lo) or math.isnan(hi) or lo == hi:
        return wrap(_alone(v, digits, mode, compact)), None, None
    if math.isinf(lo) or math.isinf(hi):
        a, b, c = (_alone(x, 3, mode, compact) if math.isfinite(x) else "unbounded" for x in (v, lo, hi))
    else:
        a, b, c = _interval(v, lo, hi, mode, compact)
    return wrap(a), wrap(b), wrap(c)


def _wide(v: float, lo: float, hi: float, size: float) -> bool:
    """Counts so far apart that the largest one's suffix writes a smaller one below 1 (``0.0045T``):
    each then gets its own suffix (``70B [4.5B, 1.3T]``)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
        return False
    unit = next(f for f, _ in COUNT_SUFFIXES if size >= f)
    return any(0 < abs(x) < unit for x in (v, lo, hi))


def _suffixed(x: float, pre: str = "") -> str:
    """One count with its own suffix and two significant digits (an interval this wide supports no
    more): 4.5e9 -> "4.5B", 1.33e12 -> "1.3T", 540 -> "540"."""
    a = float(f"{abs(x):.2g}")  # rounded first: 9.99e11 is "1T", not "1000B"
    sign = "-" if x < 0 else ""
    for factor, sfx in COUNT_SUFFIXES:
        if a >= factor:
            return f"{sign}{pre}{float(f'{a / factor:.2g}'):g}{sfx}"
    return f"{sign}{pre}{a:g}"


def _three(value_or_estimate, low, high) -> tuple[float, float, float]:
    if low is None and high is None and hasattr(value_or_estimate, "value"):
        est = value_or_estimate
        return float(est.value), float(est.low), float(est.high)
    nan = math.nan
    return (float(value_or_estimate), nan if low is None else float(low), nan if high is None else float(high))


def format_estimate(value_or_estimate, low=None, high=None, *, kind: str = "plain", digits: int = 4) -> str:
    """``"0.348 [0.330, 0.365]"``: an :class:`~scalecore.uncertainty.Estimate` (or a value and the
    ends of its interval) as text in the notation of ``kind`` (see the module docstring). The value
    alone (``digits`` significant digits) when there is no interval or it is exact; ``unbounded``
    for an infinite end."""
    a, b, c = _texts(*_three(value_or_estimate, low, high), kind, digits)
    return a if b is None else f"{a} [{b}, {c}]"


def format_value(value, kind: str = "plain", digits: int = 4) -> str:
    """One number alone in the notation of ``kind``: ``format_value(7.23e10, "count") == "72.30B"``."""
    return _texts(value, math.nan, math.nan, kind, digits)[0]


def short_number(v: float) -> str:
    """Short number for labels: 2.31, 7e+10 -> "7e10", 1.4e12 -> "1.4e12"."""
    if not math.isfinite(v):
        return "–"
    a = float(f"{abs(v):.3g}")  # rounded first: 9999.7 is "1e4", 999.99 is "1000" (not "1e+03")
    if a == 0 or 1e-3 <= a < 1e4:
        text = f"{math.copysign(a, v):.3g}"
        return f"{math.copysign(a, v):.0f}" if "e" in text else text
    mantissa, exponent = f"{math.copysign(a, v):.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def scale_text(v: float, axis: str | None) -> str:
    """A scale as people type it: counts (``params``, ``tokens``) with a suffix, 7e10 -> "70B",
    1.4e12 -> "1.4T"; compute and anything else as :func:`short_number` ("1e24"); None as ""."""
    if v is None:
        return ""
    # rounded to the three digits shown before the suffix is chosen: a search bound of 1e15 computed
    # as exp(log(1e15)) = 9.99999e14 is "1e15", not "1e+03T" (nor 999.9999 "1e+03" but "1K")
    a = float(f"{abs(v):.3g}") if math.isfinite(v) else 0.0
    if axis in ("params", "tokens") and 1e3 <= a < 1e15:
        scale, suffix = next((f, sfx) for f, sfx in COUNT_SUFFIXES if a >= f)
        return f"{math.copysign(a, v) / scale:.3g}{suffix}"
    return short_number(v)


def format_number(value: float, sig: int = 4) -> str:
    """A value with no uncertainty: ``sig`` significant digits, scientific (``7.000e+09``) when
    large or tiny; ``nan``, ``inf``, ``-inf`` as such."""
    if value is None or not math.isfinite(value):
        return "nan" if value is None or math.isnan(value) else ("inf" if value > 0 else "-inf")
    return _alone(float(value), sig)


def format_interval(value: float, low: float, high: float, kind: str = "plain") -> tuple[str, str, str]:
    """``value``, ``low``, ``high`` rounded together to the precision of the interval, in the
    notation of ``kind`` (the rules of the module docstring), as three strings for the cells of a
    table.

    Very large or small numbers are each written in normalised scientific notation, all three to
    the same decimal place (``8.9e+10``, ``6.1e+10``, ``1.32e+11``), so that values in a column
    compare at a glance. A nonzero number that would round to zero there (the low end of an
    interval spanning decades: ``N_c`` 1.5e+13 [2.3e+09, 3.87e+14]) keeps two significant digits
    of its own. An infinite end is ``unbounded``; NaN ends give ``nan`` cells, and an exact
    interval each number alone.
    """
    v, lo, hi = (float(x) for x in (value, low, high))
    if not math.isfinite(v) or math.isnan(lo) or math.isnan(hi) or lo == hi:
        def one(x: float) -> str:
            return "nan" if math.isnan(x) else format_value(x, kind)

        return one(v), one(lo), one(hi)
    a, b, c = _texts(v, lo, hi, kind, 4)
    return a, b, c


# ------------------------------------------------------------------------------ tables

#: Streamlit ``NumberColumn(format=...)`` of each kind, for editable tables that must keep numbers
#: (sortable, typed); read-only tables take :func:`column_formats`' text.
STREAMLIT_FORMATS = {"plain": "%.4g", "loss": "%.4f", "count": "compact", "flops": "%.3e", "money": "dollar",
                     "fraction": "percent", "days": "%.1f"}


def column_formats(columns: dict, digits: int = 4) -> dict:
    """A formatter (float -> str) per column of a data table, from each column's kind
    (``{"params": "count", "compute": "flops"}``): for ``DataFrame.to_html(formatters=...)``,
    ``Styler.format`` or :func:`format_table`. Missing values (None, NaN) are written as empty."""
    def formatter(kind: str):
        if kind not in KINDS:
            raise ValueError(f"unknown number kind `{kind}`; choose one of {', '.join(KINDS)}")

        def fmt(x) -> str:
            if x is None or isinstance(x, str):
                return "" if x is None else x
            try:
                x = float(x)
            except (TypeError, ValueError):
                return str(x)
            return "" if math.isnan(x) else format_value(x, kind, digits)

        return fmt

    return {name: formatter(kind) for name, kind in columns.items()}


def format_table(frame, columns: dict, digits: int = 4):
    """A copy of the DataFrame ``frame`` whose columns named in ``columns`` ({name: kind}) are text
    in that kind's notation (no raw floats such as ``97179142668.0847``); other columns unchanged."""
    out = frame.copy()
    for name, fmt in column_formats({c: k for c, k in columns.items() if c in frame.columns}, digits).items():
        out[name] = [fmt(x) for x in frame[name]]
    return out


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


# ------------------------------------------------------------------------------ in a notebook


def _g(v) -> str:
    return f"{float(v):.4g}"


def summary_text(fit, boot=None) -> str:
    """A few lines: the family, the data it saw, each parameter (with its interval from ``boot``)
    and the fit's quality. What ``repr`` shows in a notebook or a terminal."""
    against = "N, D" if fit.family.is_two_input else fit.x
    head = (f"{'BootstrapResult' if boot is not None else 'FitResult'}: {fit.family.name} fit of {fit.y} "
            f"against {against} ({fit.n_points} runs, {fit.n_excluded} excluded; {fit.problem.loss}"
            f"{f' delta={fit.problem.delta:g}' if fit.problem.loss == 'huber' else ''})")
    lines = [head]
    ci = boot.confidence_interval if boot is not None else None
    for name, value in fit.params.items():
        text = f"  {name:<10} {_g(value)}"
        if ci is not None:
            text += f"  [{_g(ci[name][0])}, {_g(ci[name][1])}]"
        lines.append(text)
    tail = f"  rmse(log) {_g(fit.rmse_log)}, AIC {fit.aic:.1f}, {fit.message}"
    if boot is not None:
        tail += f"; {boot.interval_label}"
    lines.append(tail)
    warnings = list(fit.warnings) + (list(boot.warnings) if boot is not None else [])
    if warnings:
        lines.append(f"  {len(warnings)} warning(s): {warnings[0][:100]}" + (" ..." if len(warnings) > 1 else ""))
    return "\n".join(lines)


def summary_html(fit, boot=None) -> str:
    """:func:`summary_text` as a small HTML table (what a Jupyter notebook shows)."""
    import html

    e = html.escape
    ci = boot.confidence_interval if boot is not None else None
    level = f"{boot.confidence_level:.0%} " if boot is not None else ""
    head = "<tr><th>parameter</th><th>value</th>" + (f"<th>{level}low</th><th>{level}high</th>" if ci else "") + "</tr>"
    rows = []
    for name, value in fit.params.items():
        cells = f"<td>{e(name)}</td><td>{_g(value)}</td>"
        if ci is not None:
            cells += f"<td>{_g(ci[name][0])}</td><td>{_g(ci[name][1])}</td>"
        rows.append(f"<tr>{cells}</tr>")
    caption = e(summary_text(fit, boot).splitlines()[0])
    notes = [f"rmse(log) {_g(fit.rmse_log)}, AIC {fit.aic:.1f}, {fit.message}"]
    if boot is not None:
        notes.append(boot.interval_label)
    notes += list(fit.warnings) + (list(boot.warnings) if boot is not None else [])
    foot = "".join(f"<li>{e(n)}</li>" for n in notes)
    return f"<table><caption>{caption}</caption>{head}{''.join(rows)}</table><ul>{foot}</ul>"


# ------------------------------------------------------------------------------ formulas

#: LaTeX names -> Unicode, for :func:`latex_to_html`.
GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ",
         "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ",
         "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Sigma": "Σ",
         "cdot": "·", "times": "×", "infty": "∞", "approx": "≈", "le": "≤", "ge": "≥", "ln": "ln", "log": "log",
         "exp": "exp", "min": "min", "max": "max"}
_SPACES = {",": "\u2009", ";": "\u2005", ":": "\u2005", " ": " ", "quad": "\u2003", "!": ""}


def _tex_group(s: str, i: int) -> tuple[str, int]:
    """The argument of a command or script starting at ``s[i]``: a braced group, a command or one character."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i >= len(s):
        return "", i
    if s[i] == "{":
        depth = 0
        for j in range(i, len(s)):
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            if depth == 0:
                return s[i + 1:j], j + 1
        return s[i + 1:], len(s)
    if s[i] == "\\":
        j = i + 1
        while j < len(s) and s[j].isalpha():
            j += 1
        return s[i:max(j, i + 2)], max(j, i + 2)
    return s[i], i + 1


def _tex_atom(tex: str) -> bool:
    """Whether a fraction's part reads without parentheses (no operator or space at its top level)."""
    depth = 0
    for ch in tex:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth == 0 and ch in "+-= ":
            return False
    return True


def latex_to_html(tex: str) -> str:
    """A family's LaTeX formula as HTML that reads without a math renderer (offline, no script):
    ``^{…}``/``_{…}`` as ``<sup>``/``<sub>``, Greek letters in Unicode, ``\\frac{a}{b}`` as a/b
    (parenthesised when a part has an operator), ``\\left``/``\\right`` dropped, spacing commands as
    thin spaces, ``-`` as a minus sign. Text is HTML-escaped; no backslash or brace is left."""
    import html

    out, i, s = [], 0, str(tex)
    while i < len(s):
        c = s[i]
        if c == "\\":
            j = i + 1
            while j < len(s) and s[j].isalpha():
                j += 1
            name = s[i + 1:j] if j > i + 1 else s[i + 1:i + 2]
            i = j if j > i + 1 else i + 2
            if name in _SPACES:
                out.append(_SPACES[name])
            elif name in ("left", "right"):
                if i < len(s) and s[i] == ".":
                    i += 1
            elif name == "frac":
                a, i = _tex_group(s, i)
                b, i = _tex_group(s, i)
                ha, hb = latex_to_html(a), latex_to_html(b)
                ha = ha if _tex_atom(a) else f"({ha})"
                hb = hb if _tex_atom(b) else f"({hb})"
                out.append(f"{ha}/{hb}")
            elif name in ("{", "}", "%", "$", "&", "#", "_"):
                out.append(html.escape(name))
            else:
                out.append(GREEK.get(name, html.escape(name)))
        elif c in "^_":
            arg, i = _tex_group(s, i + 1)
            tag = "sup" if c == "^" else "sub"
            out.append(f"<{tag}>{latex_to_html(arg)}</{tag}>")
        elif c in "{}":
            i += 1
        elif c == "-":
            out.append("−")
            i += 1
        else:
            out.append(html.escape(c))
            i += 1
    return "".join(out)


def latex_to_text(tex: str) -> str:
    """A LaTeX formula as plain text for tables and terminals: :func:`latex_to_html` with
    ``<sup>x</sup>`` written ``^x`` (``^(…)`` when longer than one character), ``<sub>b</sub>``
    as ``_b``, entities unescaped: ``E + A/N^α + B/D^β``."""
    import html
    import re

    text = latex_to_html(tex)
    inner = re.compile(r"<(sup|sub)>([^<]*)</\1>")
    while True:
        new = inner.sub(lambda m: ("^" if m.group(1) == "sup" else "_")
                        + (m.group(2) if len(m.group(2)) == 1 else f"({m.group(2)})"), text)
        if new == text:
            break
        text = new
    return html.unescape(text)

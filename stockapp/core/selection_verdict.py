"""The sentences a sweep's summary ends with: the configuration chosen, its own signed
Diebold-Mariano verdict, and whether trying many configurations explains it (SPA).

Where SPA finds a winner, the verdict names the configuration whose own test carries the
evidence, and says so when it is not the one chosen (:mod:`stockapp.core.selection`).
"""

from __future__ import annotations

import math

from stockapp.core.significance import ALPHA, format_pvalue

#: Words of a signed verdict (results.csv and summary.json ``verdict``).
VERDICTS = ("better", "worse", "tie")


def verdict(
    series: str,
    n_configs: int,
    label: str,
    test_ratio: float,
    spa_p: float,
    spans_text: str,
    n_seeds: int,
    chosen_test: dict | None = None,
    strongest: tuple[str, float | None] | None = None,
) -> str:
    """The sentences a person reads: the winner and its test score, its own signed
    Diebold-Mariano verdict (``chosen_test``: its seed ensemble's ``dm_better_pvalue``,
    ``dm_better_pvalue_holm`` and ``verdict``), and whether trying many configurations explains
    it (SPA). Where SPA finds a winner, ``strongest`` (the label and one-sided p of the
    configuration with the largest statistic) says whose evidence that is when the chosen
    configuration's own test, before correction, does not agree."""
    seeds = f" (mean of {n_seeds} seeds)" if n_seeds > 1 else ""
    head = (
        f"Best of {n_configs} configuration{'s' if n_configs != 1 else ''} on {series}: {label}: "
        f"RMSE {test_ratio:.4g}x persistence{seeds}; {spans_text}."
    )
    own = _own_test(chosen_test, n_configs, n_seeds)
    if own:
        head = f"{head} {own}"
    tried = f"Accounting for the {n_configs} tried (SPA), {format_pvalue(spa_p)}"
    if math.isnan(spa_p):
        return f"{head} {tried}: the test could not be computed."
    if not spa_p < ALPHA:
        return f"{head} {tried}: no evidence that any beats persistence."
    text = f"{head} {tried}: at least one configuration beats persistence"
    chosen_p = _p(chosen_test, "dm_better_pvalue")
    if chosen_test is None or chosen_test.get("verdict") == "better":
        return text + "."
    if chosen_p < ALPHA:
        return (
            f"{text}; the chosen one's own test agrees before correction (one-sided "
            f"{format_pvalue(chosen_p)})."
        )
    top_label, top_p = strongest if strongest is not None else (None, None)
    top_p = math.nan if top_p is None else float(top_p)
    if top_label is not None and top_label != label and top_p < ALPHA:
        return (
            f"{text}: the evidence is {top_label}'s (Diebold-Mariano, one-sided "
            f"{format_pvalue(top_p)} before correction), which the selection span did not choose."
        )
    where = f", {top_label}" if top_label is not None else ""
    return (
        f"{text}, yet no configuration's own test is below {ALPHA:g} before correction "
        f"(smallest one-sided {format_pvalue(top_p)}{where}): the bootstrap's spread of the best "
        "of them is narrower than the Student-t's here, so the evidence is marginal."
    )


def _p(test: dict | None, key: str) -> float:
    v = None if test is None else test.get(key)
    return math.nan if v is None else float(v)


def _own_test(test: dict | None, n_configs: int, n_seeds: int) -> str:
    """The chosen configuration's signed Diebold-Mariano verdict on the test span, in words."""
    word = None if test is None else test.get("verdict")
    if word not in VERDICTS:
        return ""
    who = "Its seed ensemble" if n_seeds > 1 else "It"
    better, holm_p = _p(test, "dm_better_pvalue"), _p(test, "dm_better_pvalue_holm")
    many = n_configs > 1
    if word == "worse":
        after = f", below {ALPHA:g} also after Holm over the {n_configs} tried" if many else ""
        return (
            f"{who} is worse than persistence (Diebold-Mariano, one-sided "
            f"{format_pvalue(1.0 - better)} that its errors are larger{after})."
        )
    after = ""
    if many and math.isfinite(holm_p):
        after = f"; Holm-adjusted over the {n_configs} tried, {format_pvalue(holm_p)}"
    if word == "better":
        return (
            f"{who} is better than persistence (Diebold-Mariano, one-sided "
            f"{format_pvalue(better)}{after})."
        )
    return (
        f"{who} ties with persistence (Diebold-Mariano, one-sided {format_pvalue(better)} "
        f"that its errors are smaller{after})."
    )

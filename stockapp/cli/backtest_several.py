"""``stockapp backtest`` with several targets (``--sample A --sample B ...``, ``--global``):
runs :func:`stockapp.models.several.run_several`, writes the run folder and prints each
series' summary and the cross-section scores."""

from __future__ import annotations

from pathlib import Path


def run_several_command(args, series, spec, cfg, settings, calibration, covariates, calendar,
                        report, print_summary) -> int:  # fmt: skip
    """Backtest every series in ``series``; ``print_summary(outcome, series, out, where)``
    prints one series' table as a one-series run does."""
    from stockapp.core.progress import drain
    from stockapp.models.several import run_several

    out = Path(args.out)
    outcome = drain(
        run_several(
            series, spec, cfg, settings, calibration=calibration, covariates=covariates,
            calendar=calendar, global_model=bool(args.global_model),
        ),
        report,
    )  # fmt: skip
    outcome.save(out)
    how = "one network across them all" if args.global_model else "a model each"
    print(f"{len(series)} series, {how}.")
    for note in outcome.notes:
        print(note)
    for s in series:
        print()
        print_summary(outcome.outcomes[s.name], s, out, where=False)
    if outcome.cross_section is not None:
        print()
        name = next(iter(outcome.outcomes.values())).model_name
        for sentence in outcome.cross_section.sentences(name):
            print(sentence)
    elif len(series) < 3:
        print("Cross-section scores need three or more series.")
    print(f"run written to {out}")
    return 0

"""RQ entry points of moves and transfers (STYLE §9)."""

from cases.transfers import services


def transfers_sweep_job() -> dict:
    """Raise alerts for missed deadlines (R24, R27, R28). Run every few minutes by RQ's
    cron (config/cron.py); idempotent, and each kind of alert is one statement (a killed
    worker leaves each either done or not)."""
    return services.transfers_sweep()

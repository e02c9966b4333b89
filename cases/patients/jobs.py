"""RQ entry points of the patient register (STYLE §9): small, idempotent, calling one service."""

from datetime import date

from cases.patients import services


def patients_classify_job(as_of: str | None = None) -> int:
    """Recompute every patient's key groups, due dates and tasks (R5–R19) as of a date
    (ISO text; default today, local time). Run nightly by RQ's cron (config/cron.py)
    so that groups that change with time alone (R15 65th birthdays, R16 six months,
    R10 lost) are current every morning. Running it twice changes nothing the second time.
    Then the day's register changes are folded (services.register_changes_compact)."""
    evaluated = services.patients_classify(as_of=date.fromisoformat(as_of) if as_of else None)
    services.register_changes_compact()
    return evaluated

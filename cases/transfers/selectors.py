"""Reads of moves and transfers: the inbox and outbox of a person's units, the alerts of
missed deadlines, the deadline a transfer runs against and the steps a person may take.
gridmap.access decides what is in a person's scope."""

from datetime import datetime

from django.db.models import QuerySet

from cases.patients.selectors import patients_visible_to
from cases.transfers.models import TOWNSHIP_GROUP, Alert, Transfer
from gridmap import access
from gridmap.models import User

SIDES = {"inbox": "to_unit__", "outbox": "from_unit__"}


def transfers_for(user: User, *, box: str | None = None) -> QuerySet[Transfer]:
    """R24: the moves into ("inbox") or out of ("outbox") the user's units, or either."""
    transfers = Transfer.objects.select_related("patient", "from_unit", "to_unit")
    return access.visible(user, transfers, via=SIDES[box] if box else None)


def open_alerts_for(user: User) -> QuerySet[Alert]:
    """Missed deadlines (R24, R28) in the user's units, not yet cleared."""
    alerts = Alert.objects.filter(cleared_at__isnull=True).select_related(
        "transfer__patient", "event_report__patient", "unit").order_by("due_at")
    return access.visible(user, alerts)


def open_transfers_of_visible_patients(user: User) -> QuerySet[Transfer]:
    """Open moves of the patients the user may see, with both ends known (the map's arrows)."""
    return (Transfer.objects.filter(state__in=Transfer.OPEN_STATES, patient__in=patients_visible_to(user),
                                    from_point__isnull=False, to_point__isnull=False)
            .select_related("patient"))


def next_deadline(transfer: Transfer) -> datetime | None:
    """The deadline the transfer is running against now (R24), or None."""
    return {Transfer.State.DETECTED: transfer.report_by, Transfer.State.REPORTED: transfer.exchange_by,
            Transfer.State.EXCHANGED: transfer.accept_by}.get(transfer.state)


def allowed_actions(scope: access.Scope, transfer: Transfer) -> list[str]:
    """The steps the person may take on this transfer now (for buttons; the services check
    again). With the transfer's units loaded, it runs no query."""
    state = transfer.state

    def origin(roles=access.ANY_ROLE) -> bool:
        return scope.acts_for(transfer.from_unit, roles)

    def destination(roles=access.ANY_ROLE) -> bool:
        return scope.acts_for(transfer.to_unit, roles)

    checks = {
        "report": state == Transfer.State.DETECTED and origin(),
        "exchange": state == Transfer.State.REPORTED and origin(TOWNSHIP_GROUP),
        "accept": state == Transfer.State.EXCHANGED and destination(TOWNSHIP_GROUP),
        "dispute": state in (Transfer.State.REPORTED, Transfer.State.EXCHANGED)
        and destination(TOWNSHIP_GROUP),
        "escalate": state == Transfer.State.DISPUTED
        and (origin(TOWNSHIP_GROUP) or destination(TOWNSHIP_GROUP)),
        "cancel": state in Transfer.OPEN_STATES and state != Transfer.State.ESCALATED
        and origin(TOWNSHIP_GROUP),
    }
    return [name for name, allowed in checks.items() if allowed]

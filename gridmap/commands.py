"""The export commands that work within a person's scope (R35): --user (what that user
may see; everything without it, for an operator at the server) and --unit, looked up once
here, and --purpose (required) and --reason for the access log."""

from django.core.management.base import CommandError

from geodata.commands import ExportCommand
from gridmap.models import GridUnit, Purpose, User


class ScopedExportCommand(ExportCommand):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--user", help="export what this user may see (default: everything)")
        parser.add_argument("--purpose", required=True, choices=Purpose.values,
                            help="why, for the access log: " + ", ".join(
                                f"{value} ({label})" for value, label in Purpose.choices))
        parser.add_argument("--reason", default="", help="why, in words (needed for --purpose other)")

    def scope(self, options: dict) -> tuple[User | None, GridUnit | None]:
        """The user and the unit the options name (None when not given); CommandError when
        either names nobody."""
        user = unit = None
        if options["purpose"] == Purpose.OTHER and not options["reason"].strip():
            raise CommandError("--purpose other needs --reason")
        if options["user"]:
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {options['user']!r}")
        if options.get("unit"):
            unit = GridUnit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"no unit {options['unit']!r}")
        return user, unit

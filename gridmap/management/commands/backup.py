"""Write a backup of the database (gridmap.backup; docs/operations.md, "Backups and restore")."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gridmap.backup import BackupError, database_backup


class Command(BaseCommand):
    requires_system_checks = []  # a backup or restore must not wait on, or fail with, the checks
    help = ("Write a custom-format pg_dump of the database in DATABASE_URL (file mode 0600). "
            "The encryption keys are not in it: keep them apart.")

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", type=Path,
                            help="the file to write (default: var/backups/gridcare-<UTC time>.dump)")

    def handle(self, *args, **options):
        try:
            backup = database_backup(path=options["output"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"wrote {backup.path}: {backup.size / 1e6:.1f} MB ({backup.size} bytes), "
                          f"sha256 {backup.sha256}")
        self.stdout.write("It holds names, addresses and diagnoses: keep it like the database. The ID "
                          "and telephone numbers in it are readable only with GRIDCARE_FIELD_KEYS, "
                          "which it does not hold.")

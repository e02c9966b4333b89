"""Restore a backup into the database (gridmap.backup; docs/operations.md, "Backups and restore")."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gridmap.backup import BackupError, database_restore


class Command(BaseCommand):
    requires_system_checks = []  # a backup or restore must not wait on, or fail with, the checks
    help = ("Restore a backup written by `backup` into the database in DATABASE_URL, in one "
            "transaction. A database that holds tables is replaced only with --force.")

    def add_arguments(self, parser):
        parser.add_argument("backup", type=Path, help="the .dump file written by `manage.py backup`")
        parser.add_argument("--force", action="store_true",
                            help="replace the tables of a database that is not empty")

    def handle(self, *args, **options):
        try:
            done = database_restore(path=options["backup"], force=options["force"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"restored {done.path} into {done.database}"
            f"{' (its tables replaced)' if done.replaced else ''}: {done.tables} tables, "
            f"{done.access_log_rows} access-log rows"))
        self.stdout.write("Next: python manage.py migrate (brings a backup of an older version up to "
                          "this one), then python manage.py audit_verify. The ID and telephone numbers "
                          "need the keys the backup was written with (GRIDCARE_FIELD_KEYS, "
                          "GRIDCARE_INDEX_KEYS).")

"""Write the access log's chain head outside the database now (cron does it daily)."""

from django.core.management.base import BaseCommand

from gridmap.audit import audit_head_write


class Command(BaseCommand):
    help = "Append the access log's current head (last row and its hash) to GRIDCARE_AUDIT_HEADS."

    def add_arguments(self, parser):
        parser.add_argument("--heads", help="the heads file (default: GRIDCARE_AUDIT_HEADS)")

    def handle(self, *args, **options):
        line = audit_head_write(options["heads"])
        self.stdout.write(line or "the access log is empty: no head written")

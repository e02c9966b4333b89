"""Check the access log's chain and the daily heads kept outside the database."""

from django.core.management.base import BaseCommand, CommandError

from gridmap.audit import audit_verify


class Command(BaseCommand):
    help = "Verify that the access log is whole and unchanged (hash chain and daily heads)."

    def add_arguments(self, parser):
        parser.add_argument("--heads", help="the heads file (default: GRIDCARE_AUDIT_HEADS)")

    def handle(self, *args, **options):
        verdict = audit_verify(options["heads"])
        for problem in verdict.problems:
            self.stderr.write(f"problem: {problem}")
        if not verdict.ok:
            raise CommandError(f"the access log fails its check: {len(verdict.problems)} problem(s) "
                               f"in {verdict.rows} rows and {verdict.heads} heads")
        self.stdout.write(self.style.SUCCESS(
            f"access log intact: {verdict.rows} rows chained, {verdict.heads} heads match"))

"""Re-encrypt the ID and telephone numbers with the current key (the first of
GRIDCARE_FIELD_KEYS) and recompute their indexes with the first of GRIDCARE_INDEX_KEYS.
docs/operations.md, "Rotating the field keys"."""

from django.core.management.base import BaseCommand
from django.db import transaction

from gridmap import crypto


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column with the current key and re-index it."

    def handle(self, *args, **options):
        with transaction.atomic():
            done = crypto.rotate()
        for label, n in done.items():
            self.stdout.write(f"{label}: {n} value(s) re-encrypted with key {crypto.current_key_id()}")
        self.stdout.write(self.style.SUCCESS(
            f"done; index key {crypto.current_index_key_id()}. Keys not listed first may now be removed "
            "from GRIDCARE_FIELD_KEYS / GRIDCARE_INDEX_KEYS."))

"""ID numbers and telephone numbers encrypted at rest (gridmap.crypto; issue 10, Deliver 3):
the plain values are encrypted with the current key, their keyed-hash index computed, and
a guardian known by ID number is keyed by the index instead of the number. Migrating back
decrypts them."""

from django.db import migrations, models
from django.db.models import Q

import gridmap.crypto

# (table, encrypted column, its index column or None)
COLUMNS = [("cases_patient", "id_number", "id_number_index"),
           ("cases_guardian", "id_number", "id_number_index"),
           ("cases_guardian", "phone", "phone_index")]


def _rewrite(schema_editor, transform) -> None:
    """Rewrite a column in one UPDATE … FROM a COPY-loaded stage (no per-row statements)."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for table, column, index_column in COLUMNS:
            cursor.execute(f"SELECT id, {column} FROM {table} WHERE coalesce({column}, '') <> ''")
            rows = cursor.fetchall()
            if not rows:
                continue
            cursor.execute("CREATE TEMP TABLE stage_crypto (id bigint, value text, idx text) ON COMMIT DROP")
            with cursor.cursor.copy("COPY stage_crypto (id, value, idx) FROM STDIN") as copy:
                for row_id, value in rows:
                    copy.write_row((row_id, *transform(value, f"{table}.{column}")))
            sets = f"{column} = s.value" + (f", {index_column} = s.idx" if index_column else "")
            cursor.execute(f"UPDATE {table} t SET {sets} FROM stage_crypto s WHERE s.id = t.id")
            cursor.execute("DROP TABLE stage_crypto")


def encrypt_existing(apps, schema_editor) -> None:
    _rewrite(schema_editor, lambda value, label: (gridmap.crypto.encrypt(value, label),
                                                  gridmap.crypto.index(value)))
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("UPDATE cases_guardian SET key = id_number_index WHERE id_number_index <> ''")


def decrypt_existing(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, id_number FROM cases_guardian WHERE coalesce(id_number, '') <> ''")
        rows = cursor.fetchall()
        for row_id, stored in rows:  # going back is rare: a statement per guardian is fine
            cursor.execute("UPDATE cases_guardian SET key = %s WHERE id = %s",
                           [gridmap.crypto.decrypt(stored, "cases_guardian.id_number"), row_id])
    _rewrite(schema_editor, lambda stored, label: (gridmap.crypto.decrypt(stored, label), ""))


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0002_death_date_and_source'),
    ]

    operations = [
        migrations.AddField(
            model_name='guardian', name='id_number_index',
            field=models.CharField(blank=True, default='', editable=False, max_length=80),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='guardian', name='phone_index',
            field=models.CharField(blank=True, default='', editable=False, max_length=80),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='patient', name='id_number_index',
            field=models.CharField(blank=True, db_index=True, default='', editable=False, max_length=80),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name='guardian', name='id_number',
            field=gridmap.crypto.EncryptedCharField(blank=True, null=True, max_length=18,
                                                    column_label='cases_guardian.id_number',
                                                    verbose_name='ID number'),
        ),
        migrations.AlterField(
            model_name='guardian', name='phone',
            field=gridmap.crypto.EncryptedCharField(blank=True, column_label='cases_guardian.phone',
                                                    max_length=40, verbose_name='phone'),
        ),
        migrations.AlterField(
            model_name='patient', name='id_number',
            field=gridmap.crypto.EncryptedCharField(blank=True, column_label='cases_patient.id_number',
                                                    max_length=18, verbose_name='ID number'),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing),
        migrations.AddConstraint(
            model_name='guardian',
            constraint=models.UniqueConstraint(condition=~Q(id_number_index=''), fields=('id_number_index',),
                                               name='guardian_one_per_id_number'),
        ),
    ]

"""The register's models moved out of the `cases` app without moving a row (issue: one room
per subject): a database at the schema of before, holding the demo county, migrates to the
new state and every row is found, unchanged, through the new models."""

from datetime import date

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from demo.county import demo_county_load

BEFORE = [("cases", "0006_extra_columns"), ("gridmap", "0006_alter_importrun_kind")]
MOVED = {  # table -> the model that owns it now
    "cases_guardian": "patients.Guardian", "cases_patient": "patients.Patient",
    "cases_followup": "patients.FollowUp", "cases_riskassessment": "patients.RiskAssessment",
    "cases_teamoverride": "patients.TeamOverride", "cases_task": "patients.Task",
    "cases_lostsearch": "patients.LostSearch", "cases_eventreport": "patients.EventReport",
    "cases_transfer": "transfers.Transfer", "cases_transferattachment": "transfers.TransferAttachment",
    "cases_alert": "transfers.Alert", "cases_notification": "transfers.Notification",
    "cases_campaign": "screening.Campaign", "cases_visit": "screening.Visit",
    "cases_suspectedcase": "screening.SuspectedCase", "cases_coveragecount": "screening.CoverageCount",
    "cases_accesslog": "gridmap.AccessLog", "cases_calendarday": "gridmap.CalendarDay",
}


# Encrypted since (patients 0003): compared by their plain values, read through the models.
SEALED = {"cases_patient": ["id_number"], "cases_guardian": ["id_number", "phone", "key"]}


def _plain(table: str) -> dict[int, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {', '.join(SEALED[table])} FROM {table}")
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _fingerprints(columns: dict[str, list[str]] | None = None) -> dict[str, tuple[int, str]]:
    """Every moved table's row count and a digest of all its rows (of `columns`, when given:
    the columns a table had in the old schema), read in SQL."""
    out = {}
    with connection.cursor() as cursor:
        for table in MOVED:  # identifiers from the list above and from the catalogue
            picked = ", ".join(f't."{c}"' for c in columns[table]) if columns else "t.*"
            cursor.execute(f"SELECT count(*), md5(coalesce(string_agg(ROW({picked})::text, '|' ORDER BY t.id), '')) "
                           f"FROM {table} t")
            out[table] = cursor.fetchone()
    return out


def _columns() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        return {table: [c.name for c in connection.introspection.get_table_description(cursor, table)]
                for table in MOVED}


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_a_database_of_the_old_schema_with_the_demo_migrates_and_keeps_every_row(tmp_path):
    demo_county_load(out_dir=tmp_path, seed=7, today=date(2026, 6, 30), townships=2, villages=(2, 3),
                     households=1500)
    counts = {table: n for table, (n, _) in _fingerprints().items()}
    assert all(n for table, n in counts.items() if table not in ("cases_transferattachment", "cases_calendarday"))
    try:
        old = _migrate(BEFORE).loader.project_state(BEFORE).apps  # the schema of before, same rows
        assert old.get_model("cases", "Patient").objects.count() == counts["cases_patient"]
        assert old.get_model("cases", "Visit").objects.count() == counts["cases_visit"]
        columns = {table: [c for c in names if c not in SEALED.get(table, ())]
                   for table, names in _columns().items()}
        before = _fingerprints(columns)
        plain = {table: _plain(table) for table in SEALED}
        assert {table: n for table, (n, _) in before.items()} == counts
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert _fingerprints(columns) == before  # every row, every value of before
    patients = dict(apps.get_model("patients.Patient").objects.values_list("pk", "id_number"))
    assert patients == {pk: number or "" for pk, (number,) in plain["cases_patient"].items()}
    guardians = {g.pk: g for g in apps.get_model("patients.Guardian").objects.all()}
    assert {pk: (g.id_number, g.phone) for pk, g in guardians.items()} == {
        pk: (number, phone) for pk, (number, phone, _key) in plain["cases_guardian"].items()}
    assert all(g.key == (g.id_number_index if g.id_number else plain["cases_guardian"][pk][2])
               for pk, g in guardians.items())
    with connection.cursor() as cursor:  # and nothing of it plain in the database
        cursor.execute("SELECT count(*) FROM cases_patient WHERE id_number <> '' AND id_number NOT LIKE 'k%$%'")
        assert cursor.fetchone()[0] == 0
    for table, label in MOVED.items():
        model = apps.get_model(label)
        assert model._meta.db_table == table
        assert model.objects.count() == counts[table], label

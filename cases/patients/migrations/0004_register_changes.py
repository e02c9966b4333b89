"""The register's change record (RegisterChange) and the statement triggers that write it.

One trigger per table and operation, each reading its statement's transition tables, so
an import of 100,000 patients writes one row per county, not one per patient."""

from django.db import migrations, models

# The rows a statement wrote, by operation: the transition tables it has.
ROWS = {"insert": ("new_rows",), "update": ("new_rows", "old_rows"), "delete": ("old_rows",)}
REFERENCING = {"insert": "NEW TABLE AS new_rows", "update": "NEW TABLE AS new_rows OLD TABLE AS old_rows",
               "delete": "OLD TABLE AS old_rows"}

# For each table: the columns read of its changed rows, and the counties they touch.
COUNTIES = {
    # Where a patient lives, where it is registered (R22), where an open transfer is
    # bringing it (R24); 0 for a patient living in no county.
    "cases_patient": ("id, county_id, registration_unit_id", """
        SELECT coalesce(c.county_id, 0) FROM changed c
        UNION SELECT u.county_id FROM changed c JOIN gridmap_gridunit u ON u.id = c.registration_unit_id
        UNION SELECT u.county_id FROM cases_transfer t JOIN gridmap_gridunit u ON u.id = t.to_unit_id
         WHERE t.closed_at IS NULL AND t.patient_id IN (SELECT id FROM changed)"""),
    # A transfer opened, closed or redirected changes what its destination counts.
    "cases_transfer": ("to_unit_id", """
        SELECT u.county_id FROM changed c JOIN gridmap_gridunit u ON u.id = c.to_unit_id"""),
    # A unit's place in the tree places the patients registered there (R22).
    "gridmap_gridunit": ("county_id", "SELECT c.county_id FROM changed c"),
}


def _create() -> str:
    parts = []
    for table, (columns, counties) in COUNTIES.items():
        for operation, tables in ROWS.items():
            name = f"{table}_register_{operation}"
            changed = " UNION ALL ".join(f"SELECT {columns} FROM {rows}" for rows in tables)
            parts.append(f"""
CREATE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    INSERT INTO cases_registerchange (county_id, weight)
    WITH changed AS ({changed})
    SELECT DISTINCT county, 1 FROM ({counties}) AS touched (county) WHERE county IS NOT NULL;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER {name} AFTER {operation.upper()} ON {table} REFERENCING {REFERENCING[operation]}
FOR EACH STATEMENT EXECUTE FUNCTION {name}();""")
    return "\n".join(parts)


def _drop() -> str:
    return "\n".join(f"DROP TRIGGER IF EXISTS {table}_register_{operation} ON {table};"
                     f" DROP FUNCTION IF EXISTS {table}_register_{operation}();"
                     for table in COUNTIES for operation in ROWS)


class Migration(migrations.Migration):
    dependencies = [("patients", "0003_encrypted_identifiers"), ("transfers", "0002_open_until_closed"),
                    ("gridmap", "0009_unit_tiles")]
    operations = [
        migrations.CreateModel(
            name="RegisterChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("county_id", models.BigIntegerField(db_index=True)),
                ("weight", models.BigIntegerField(default=1)),
            ],
            options={"db_table": "cases_registerchange"},
        ),
        migrations.RunSQL(_create(), _drop()),
    ]

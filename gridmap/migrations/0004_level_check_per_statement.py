"""Check "level = parent level + 1" once per statement, not once per row.

The row trigger of 0002 ran one lookup per inserted unit; its cached plan,
made while the table was still empty, turned a 119k-unit province import
quadratic (80 s, bench/). Statement triggers with transition tables check
every written row in one join, and also catch a parent whose level change
would break its existing children.
"""

from django.db import migrations

CREATE = """
DROP TRIGGER IF EXISTS gridmap_gridunit_level_check ON gridmap_gridunit;
DROP FUNCTION IF EXISTS gridmap_gridunit_level_check();

CREATE FUNCTION gridmap_gridunit_levels_check() RETURNS trigger AS $$
DECLARE bad record;
BEGIN
    SELECT n.code, n.level, p.level AS parent_level INTO bad
    FROM new_rows n JOIN gridmap_gridunit p ON p.id = n.parent_id
    WHERE p.level <> n.level - 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'grid unit % has level % but its parent has level %',
            bad.code, bad.level, bad.parent_level USING ERRCODE = 'check_violation';
    END IF;
    SELECT c.code, c.level, n.level AS parent_level INTO bad
    FROM new_rows n JOIN gridmap_gridunit c ON c.parent_id = n.id
    WHERE c.level <> n.level + 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'grid unit % has level % but its parent has level %',
            bad.code, bad.level, bad.parent_level USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER gridmap_gridunit_levels_after_insert
AFTER INSERT ON gridmap_gridunit REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION gridmap_gridunit_levels_check();

CREATE TRIGGER gridmap_gridunit_levels_after_update
AFTER UPDATE ON gridmap_gridunit REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION gridmap_gridunit_levels_check();
"""

DROP = """
DROP TRIGGER IF EXISTS gridmap_gridunit_levels_after_insert ON gridmap_gridunit;
DROP TRIGGER IF EXISTS gridmap_gridunit_levels_after_update ON gridmap_gridunit;
DROP FUNCTION IF EXISTS gridmap_gridunit_levels_check();
"""


class Migration(migrations.Migration):
    dependencies = [("gridmap", "0003_household_placement_without_fk_constraints")]
    operations = [migrations.RunSQL(CREATE, DROP)]

"""Enforce in the database that a unit's level is its parent's level + 1.

A check constraint cannot look at another row, so a trigger does it: every
path that writes units (importer, admin, shell) is held to the invariant.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION gridmap_gridunit_level_check() RETURNS trigger AS $$
DECLARE parent_level smallint;
BEGIN
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;  -- the check constraint requires level 1 here
    END IF;
    SELECT level INTO parent_level FROM gridmap_gridunit WHERE id = NEW.parent_id;
    IF parent_level IS DISTINCT FROM NEW.level - 1 THEN
        RAISE EXCEPTION 'grid unit % has level % but its parent has level %',
            NEW.code, NEW.level, parent_level USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER gridmap_gridunit_level_check
BEFORE INSERT OR UPDATE OF level, parent_id ON gridmap_gridunit
FOR EACH ROW EXECUTE FUNCTION gridmap_gridunit_level_check();
"""

DROP = """
DROP TRIGGER IF EXISTS gridmap_gridunit_level_check ON gridmap_gridunit;
DROP FUNCTION IF EXISTS gridmap_gridunit_level_check();
"""


class Migration(migrations.Migration):
    dependencies = [("gridmap", "0001_initial")]
    operations = [migrations.RunSQL(CREATE, DROP)]

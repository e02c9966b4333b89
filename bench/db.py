"""The benchmark's own database: `<db name>_bench`, never the shared ones.

`use_bench_database()` must run before anything imports Django models: it
points DATABASE_URL at the bench database, creates it with PostGIS if
missing, sets Django up and migrates.
"""

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

GRID_TABLES = [
    "gridmap_household", "gridmap_staffassignment", "gridmap_gridunitshape",
    "gridmap_importrun", "gridmap_gridunit",
]


CASE_APPS = ("patients", "transfers", "screening")


def cases_tables() -> list[str]:
    """Every table of the case apps and the access log (read from the models: they grow)."""
    from django.apps import apps

    from gridmap.models import AccessLog, CalendarDay

    tables = [model._meta.db_table for label in CASE_APPS
              for model in apps.get_app_config(label).get_models()]
    return [*tables, AccessLog._meta.db_table, CalendarDay._meta.db_table]


def bench_tables() -> list[str]:
    return [*cases_tables(), *GRID_TABLES]


def bench_url(url: str) -> str:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit("DATABASE_URL names no database")
    return urlunsplit(parts._replace(path=f"/{name}_bench"))


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def ensure_database(url: str) -> None:
    """Create the database and the postgis extension if they are missing."""
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def use_bench_database() -> str:
    """Point Django at the bench database, migrated; return its URL."""
    source = os.environ.get("DATABASE_URL", "")
    if not source:
        raise SystemExit("Set DATABASE_URL (or run `make bench`, which sources var/env.sh)")
    url = source if urlsplit(source).path.endswith("_bench") else bench_url(source)
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return url


def truncate(tables: list[str] | None = None) -> None:
    from django.db import connection

    tables = tables or bench_tables()
    assert connection.settings_dict["NAME"].endswith("_bench"), "not the bench database"
    with connection.cursor() as cursor:
        # The access log refuses TRUNCATE (append-only) unless the session says so: the
        # bench database is thrown away, the real ones never see this setting.
        cursor.execute("SET gridcare.audit_truncate = on")
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        cursor.execute("RESET gridcare.audit_truncate")


def vacuum_analyze(table: str) -> None:
    """What autovacuum would have done between two imports made at different times."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")


def server_versions() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0].split()[0]
        cursor.execute("SELECT postgis_lib_version()")
        postgis = cursor.fetchone()[0]
    return f"PostgreSQL {postgres}, PostGIS {postgis}"

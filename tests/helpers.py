"""Run an importer through its function or through its management command: the same
function either way (config.importers, as users run them)."""

from io import StringIO

from django.core.management import CommandError, call_command

from config import importers

IMPORTERS = {
    "import_grid_units": importers.grid_units_import,
    "import_households": importers.households_import,
    "import_staff": importers.staff_import,
    "import_patients": importers.patients_import,
    "import_followups": importers.followups_import,
    "import_campaigns": importers.campaigns_import,
    "import_screening": importers.screening_import,
}


def run_import(via: str, command: str, path, **options):
    """Returns (ok, text): text holds every error/warning line the user sees."""
    if via == "function":
        report = IMPORTERS[command](path=path, **options)
        return report.ok, "\n".join(str(p) for p in report.errors + report.warnings)
    out, err = StringIO(), StringIO()
    args = [str(path)]
    if options.get("dry_run"):
        args.append("--dry-run")
    if options.get("as_of"):
        args.append(f"--as-of={options['as_of'].isoformat()}")
    if options.get("source_crs"):
        args.append(f"--source-crs={options['source_crs']}")
    try:
        call_command(command, *args, stdout=out, stderr=err)
        ok = True
    except CommandError:
        ok = False
    return ok, out.getvalue() + err.getvalue()

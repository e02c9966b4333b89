"""Staff, their roles and the units they serve (formats.md §7)."""

from pathlib import Path

from geodata.readers import read_ledger
from geodata.report import ImportReport, Progress, run_atomic
from gridmap.models import GridUnit, Role, StaffAssignment, User

STAFF_COLUMNS = {
    "username": "账号", "name": "姓名", "phone": "电话", "role": "角色", "unit_code": "负责单元编码",
}
REQUIRED = ("username", "name", "role", "unit_code")
TEXT_LIMITS = {column: User._meta.get_field(field).max_length
               for column, field in (("username", "username"), ("name", "full_name"), ("phone", "phone"))}
ROLE_LABELS_ZH = {
    "区县重精办": "county_office", "乡镇综治办": "township_office", "卫生院精防人员": "health_staff",
    "民警": "police", "村两委": "village_committee", "联村领导": "liaison_leader",
    "村医": "village_doctor", "网格员": "grid_worker", "微网格长": "micro_grid_leader",
}


def staff_import(
    *, path: str | Path, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Create or update staff users and set the units each serves in each role.

    A person named in the file gets exactly the (role, unit) rows the file
    gives them; people not in the file are left alone. New users get no usable
    password: an administrator sets one (or single sign-on is configured).
    """
    report, step = ImportReport.begin("staff", dry_run=dry_run, progress=progress)
    frame = report.read_file(lambda: read_ledger(path, STAFF_COLUMNS, REQUIRED))
    if frame is None:
        return report
    units = dict(GridUnit.objects.filter(code__in=set(frame["unit_code"])).values_list("code", "id"))
    people: dict[str, dict] = {}
    for n, row in enumerate(frame.to_dict("records"), start=1):
        role = ROLE_LABELS_ZH.get(row["role"], row["role"])
        checks = [
            (not row["username"], "username", "username is required"),
            (not row["name"], "name", "name is required"),
            (role not in Role.values, "role", f"unknown role {row['role']!r}"),
            *((len(row[column]) > limit, column, f"more than the {limit} characters allowed")
              for column, limit in TEXT_LIMITS.items()),
            (row["unit_code"] not in units, "unit_code", f"unknown unit {row['unit_code']!r}"),
        ]
        for failed, column, message in checks:
            if failed:
                report.error(f"row {n}, column {column}", "bad_value", message)
        person = people.setdefault(row["username"], {"name": row["name"], "phone": row["phone"],
                                                     "roles": set()})
        person["roles"].add((role, units.get(row["unit_code"])))
    step(0.5, "checked rows")
    if not report.ok:
        return report

    def body() -> None:
        existing = set(User.objects.filter(username__in=people).values_list("username", flat=True))
        new_users = [User(username=u, full_name=p["name"], phone=p["phone"])
                     for u, p in people.items() if u not in existing]
        for user in new_users:
            user.set_unusable_password()
        User.objects.bulk_create(new_users)
        changed = [
            User(id=uid, full_name=people[u]["name"], phone=people[u]["phone"])
            for u, uid, name, phone in User.objects.filter(username__in=existing)
            .values_list("username", "id", "full_name", "phone")
            if (name, phone) != (people[u]["name"], people[u]["phone"])
        ]
        User.objects.bulk_update(changed, ["full_name", "phone"])
        ids = dict(User.objects.filter(username__in=people).values_list("username", "id"))
        StaffAssignment.objects.filter(user_id__in=ids.values()).delete()
        StaffAssignment.objects.bulk_create(
            StaffAssignment(user_id=ids[u], role=role, unit_id=unit)
            for u, p in people.items() for role, unit in sorted(p["roles"])
        )
        report.created, report.updated = len(new_users), len(changed)
        report.unchanged = len(existing) - len(changed)
        report.stats["assignments"] = sum(len(p["roles"]) for p in people.values())
        step(1.0, "written")

    return run_atomic(report, dry_run=dry_run, body=body)

"""import_staff (formats.md §7): people, their roles and the units they serve."""

import pytest

from gridmap.models import StaffAssignment, User
from tests.conftest import GRID_1, TOWNSHIP_1, VILLAGE_1
from tests.helpers import run_import

pytestmark = pytest.mark.django_db
VIA = pytest.mark.parametrize("via", ["function", "command"])


def staff_csv(tmp_path, lines, name="staff.csv", header="账号,姓名,电话,角色,负责单元编码"):
    path = tmp_path / name
    path.write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


@VIA
def test_staff_get_their_roles_and_units(via, small_grid, tmp_path):
    path = staff_csv(tmp_path, [
        f"wang,王芳,13800000001,网格员,{GRID_1[0]}",
        f"li,李强,13800000002,village_doctor,{VILLAGE_1[0]}",
        f"li,李强,13800000002,村两委,{VILLAGE_1[0]}",
        f"zhao,赵敏,,乡镇综治办,{TOWNSHIP_1[0]}",
    ])
    ok, text = run_import(via, "import_staff", path)
    assert ok, text
    li = User.objects.get(username="li")
    assert li.full_name == "李强" and not li.has_usable_password()
    assert sorted(li.assignments.values_list("role", flat=True)) == ["village_committee",
                                                                     "village_doctor"]
    assert StaffAssignment.objects.get(user__username="wang").unit.code == GRID_1[0]


def test_reimport_replaces_a_persons_assignments(small_grid, tmp_path):
    run_import("function", "import_staff", staff_csv(tmp_path, [f"wang,王芳,1,网格员,{GRID_1[0]}"]))
    run_import("function", "import_staff",
               staff_csv(tmp_path, [f"wang,王芳,2,村医,{VILLAGE_1[0]}"], name="b.csv"))
    wang = User.objects.get(username="wang")
    assert wang.phone == "2"
    assert list(wang.assignments.values_list("role", "unit__code")) == [("village_doctor",
                                                                         VILLAGE_1[0])]


@VIA
def test_bad_rows_are_all_reported_and_nothing_is_written(via, small_grid, tmp_path):
    path = staff_csv(tmp_path, [
        f"wang,王芳,1,网格员,{GRID_1[0]}",
        f",无账号,1,网格员,{GRID_1[0]}",
        f"x,某人,1,保安,{GRID_1[0]}",
        "y,某人,1,网格员,NOPE",
    ])
    ok, text = run_import(via, "import_staff", path)
    assert not ok
    assert "row 2, column username: username is required" in text
    assert "row 3, column role: unknown role '保安'" in text
    assert "row 4, column unit_code: unknown unit 'NOPE'" in text
    assert not User.objects.filter(username="wang").exists()

"""The administration cannot be used to widen one's own access (probe finding 1): the staff
flag alone opens no upload, no import run and no job dashboard; importing staff files,
which grant data scope, needs the right to change responsibilities too."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from gridmap.models import ImportRun, StaffAssignment, User
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def staff_user(*perms: str) -> User:
    user = User.objects.create_user("clerk", password="a-long-password-1", is_staff=True)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def upload(client, tmp_path, kind: str):
    path = tmp_path / "staff.csv"
    path.write_text("账号,姓名,角色,负责单元编码\nclerk,我,区县重精办,610727\n", encoding="utf-8")
    with path.open("rb") as file:
        return client.post(reverse("admin:gridmap_import_upload"), {"kind": kind, "file": file})


def test_the_staff_flag_alone_opens_no_upload_run_or_job_page(client, small_grid, tmp_path, admin_user):
    sign_in(client, staff_user())
    assert client.get(reverse("admin:gridmap_import_upload")).status_code == 403
    assert upload(client, tmp_path, "staff").status_code == 403
    assert not ImportRun.objects.exists() and not StaffAssignment.objects.exists()
    theirs = ImportRun.objects.create(kind="staff", filename="x.csv", created_by=admin_user)
    assert client.get(reverse("admin:gridmap_import_progress", args=[theirs.pk])).status_code == 403
    assert client.get(reverse("admin:gridmap_import_status", args=[theirs.pk])).status_code == 403
    assert client.get("/django-rq/").status_code == 403


def test_importing_staff_needs_the_right_to_change_responsibilities(client, small_grid, tmp_path):
    sign_in(client, staff_user("add_importrun", "view_importrun"))
    assert client.get(reverse("admin:gridmap_import_upload")).status_code == 200
    response = upload(client, tmp_path, "staff")
    assert response.status_code == 200 and "kind" in response.context["form"].errors
    assert not ImportRun.objects.exists()


def test_an_importer_sees_their_own_runs_and_a_superuser_every_page(client, admin_client, small_grid,
                                                                   tmp_path):
    user = staff_user("add_importrun", "view_importrun", "add_staffassignment", "change_staffassignment",
                      "delete_staffassignment")
    sign_in(client, user)
    assert upload(client, tmp_path, "staff").status_code == 302
    run = ImportRun.objects.get()
    assert client.get(reverse("admin:gridmap_import_status", args=[run.pk])).status_code == 200
    assert admin_client.get(reverse("admin:gridmap_import_status", args=[run.pk])).status_code == 200
    assert admin_client.get("/django-rq/").status_code == 200


def test_the_job_dashboard_is_not_in_the_administration_for_staff(client, small_grid):
    """django-rq registers its dashboard in the admin too, where the staff flag alone
    opened it (found by the endpoint matrix); it lives at /django-rq/ for superusers."""
    sign_in(client, staff_user())
    assert client.get("/admin/django_rq/dashboard/").status_code == 404
    assert client.get("/django-rq/").status_code == 403

"""Print who can log in and what each person serves: the table `make demo` shows."""

from django.core.management.base import BaseCommand

from gridmap.models import StaffAssignment, User


class Command(BaseCommand):
    help = "List staff logins with their roles and units."

    def handle(self, *args, **options):
        rows = (StaffAssignment.objects.select_related("user", "unit")
                .order_by("user__username", "role"))
        for assignment in rows:
            self.stdout.write(
                f"  {assignment.user.username:<20} {assignment.get_role_display():<34} "
                f"{assignment.unit.name} ({assignment.unit.code})"
            )
        for admin in User.objects.filter(is_superuser=True).order_by("username"):
            self.stdout.write(f"  {admin.username:<20} {'administrator':<34} /admin/")

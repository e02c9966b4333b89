"""A transfer is open exactly while it has no closing time (handed over, accepted, resolved
and cancelled moves carry closed_at; open ones do not). The register's scope reads an open
transfer to a unit from closed_at (R24, cases.patients.models.PatientQuerySet), so the
database now holds every row to it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gridmap', '0007_access_log_and_calendar'),
        ('patients', '0001_initial'),
        ('transfers', '0001_initial'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('closed_at__isnull', True), ('state__in', ('detected', 'reported', 'exchanged', 'disputed', 'escalated', 'outflow'))), models.Q(models.Q(('state__in', ('detected', 'reported', 'exchanged', 'disputed', 'escalated', 'outflow')), _negated=True), ('closed_at__isnull', False)), _connector='OR'), name='transfer_open_until_closed'),
        ),
    ]

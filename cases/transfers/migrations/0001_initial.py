"""The models of moves and transfers, moved from the `cases` app. Their tables were created
by cases/migrations 0002–0003 and keep their names (Meta.db_table): this migration changes
the project's state only, no table and no row."""

import django.contrib.gis.db.models.fields
import django.contrib.postgres.fields
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('cases', '0006_extra_columns'),
        ('gridmap', '0007_access_log_and_calendar'),
        ('patients', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='Transfer',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(choices=[('micro_grid', 'within a grid'), ('grid', 'within a village'), ('village', 'within a township'), ('township', 'within a county'), ('county', 'between counties'), ('outside', 'out of the area')], max_length=12, verbose_name='kind')),
                    ('state', models.CharField(choices=[('handed_over', 'handed over'), ('detected', 'detected'), ('reported', 'reported'), ('exchanged', 'information exchanged'), ('accepted', 'accepted'), ('disputed', 'disputed'), ('escalated', 'escalated'), ('resolved', 'resolved'), ('cancelled', 'cancelled'), ('outflow', 'outflow (origin responsible)')], max_length=12, verbose_name='state')),
                    ('source', models.CharField(choices=[('import', 'ledger import'), ('api', 'API'), ('form', 'form')], max_length=8)),
                    ('from_point', django.contrib.gis.db.models.fields.PointField(blank=True, null=True, srid=4326)),
                    ('to_point', django.contrib.gis.db.models.fields.PointField(blank=True, null=True, srid=4326)),
                    ('to_address', models.CharField(blank=True, max_length=300, verbose_name='new address')),
                    ('detected_at', models.DateTimeField(verbose_name='detected')),
                    ('reported_at', models.DateTimeField(blank=True, null=True, verbose_name='reported')),
                    ('exchanged_at', models.DateTimeField(blank=True, null=True, verbose_name='exchanged')),
                    ('accepted_at', models.DateTimeField(blank=True, null=True, verbose_name='accepted')),
                    ('disputed_at', models.DateTimeField(blank=True, null=True, verbose_name='disputed')),
                    ('escalated_at', models.DateTimeField(blank=True, null=True, verbose_name='escalated')),
                    ('closed_at', models.DateTimeField(blank=True, null=True, verbose_name='closed')),
                    ('report_by', models.DateTimeField(blank=True, null=True, verbose_name='report by')),
                    ('exchange_by', models.DateTimeField(blank=True, null=True, verbose_name='exchange by')),
                    ('accept_by', models.DateTimeField(blank=True, null=True, verbose_name='accept by')),
                    ('calendar_fallback_years', django.contrib.postgres.fields.ArrayField(base_field=models.PositiveSmallIntegerField(), blank=True, default=list, size=None)),
                    ('dispute_explanation', models.TextField(blank=True, verbose_name='explanation')),
                    ('dispute_risk_level', models.PositiveSmallIntegerField(blank=True, null=True)),
                    ('dispute_risk_assessed_on', models.DateField(blank=True, null=True)),
                    ('escalated_to', models.CharField(blank=True, max_length=16)),
                    ('resolution', models.TextField(blank=True, verbose_name='resolution')),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('from_unit', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='gridmap.gridunit', verbose_name='from')),
                    ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='transfers', to='patients.patient')),
                    ('to_household', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='gridmap.household')),
                    ('to_unit', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='gridmap.gridunit', verbose_name='to')),
                ],
                options={
                    'verbose_name': 'transfer',
                    'verbose_name_plural': 'transfers',
                    'db_table': 'cases_transfer',
                    'ordering': ['-detected_at'],
                },
            ),
            migrations.CreateModel(
                name='Notification',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('key', models.CharField(max_length=64)),
                    ('text', models.CharField(max_length=300)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('read_at', models.DateTimeField(blank=True, null=True)),
                    ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='patients.patient')),
                    ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL)),
                    ('transfer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='transfers.transfer')),
                ],
                options={
                    'db_table': 'cases_notification',
                    'ordering': ['-created_at'],
                },
            ),
            migrations.CreateModel(
                name='Alert',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(choices=[('report_overdue', 'transfer not reported in time'), ('exchange_overdue', 'information not exchanged in time'), ('accept_overdue', 'transfer not accepted in time'), ('event_overdue', 'event not reported in time')], max_length=20)),
                    ('due_at', models.DateTimeField()),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('cleared_at', models.DateTimeField(blank=True, null=True)),
                    ('event_report', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to='patients.eventreport')),
                    ('unit', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='gridmap.gridunit')),
                    ('transfer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to='transfers.transfer')),
                ],
                options={
                    'verbose_name': 'alert',
                    'verbose_name_plural': 'alerts',
                    'db_table': 'cases_alert',
                },
            ),
            migrations.CreateModel(
                name='TransferAttachment',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('file', models.FileField(upload_to='transfers/%Y/%m/')),
                    ('uploaded_at', models.DateTimeField(auto_now_add=True)),
                    ('transfer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attachments', to='transfers.transfer')),
                    ('uploaded_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'cases_transferattachment',
                },
            ),
            migrations.AddIndex(
                model_name='transfer',
                index=models.Index(fields=['state'], name='cases_trans_state_8197fc_idx'),
            ),
            migrations.AddIndex(
                model_name='transfer',
                index=models.Index(fields=['to_unit', 'state'], name='cases_trans_to_unit_9e2f75_idx'),
            ),
            migrations.AddIndex(
                model_name='transfer',
                index=models.Index(fields=['from_unit', 'state'], name='cases_trans_from_un_508390_idx'),
            ),
            migrations.AddConstraint(
                model_name='transfer',
                constraint=models.UniqueConstraint(condition=models.Q(('state__in', ('detected', 'reported', 'exchanged', 'disputed', 'escalated', 'outflow'))), fields=('patient',), name='one_open_transfer_per_patient'),
            ),
            migrations.AddConstraint(
                model_name='notification',
                constraint=models.UniqueConstraint(fields=('user', 'patient', 'key'), name='notification_once'),
            ),
            migrations.AddConstraint(
                model_name='alert',
                constraint=models.UniqueConstraint(condition=models.Q(('transfer__isnull', False)), fields=('kind', 'transfer'), name='one_alert_per_transfer_kind'),
            ),
            migrations.AddConstraint(
                model_name='alert',
                constraint=models.UniqueConstraint(condition=models.Q(('event_report__isnull', False)), fields=('kind', 'event_report'), name='one_alert_per_event_kind'),
            ),
        ]),
    ]

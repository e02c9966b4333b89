"""The access log (R35) and the working-day calendar's corrections (R24, R33) join the grid
app, which every subject shares. Their tables were created by cases/migrations and keep
their names: this migration changes the project's state only, no table."""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0006_extra_columns'),
        ('gridmap', '0006_alter_importrun_kind'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='CalendarDay',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('day', models.DateField(unique=True, verbose_name='date')),
                    ('working', models.BooleanField(verbose_name='working day')),
                    ('note', models.CharField(blank=True, max_length=100, verbose_name='note')),
                ],
                options={
                    'verbose_name': 'calendar day',
                    'verbose_name_plural': 'calendar days',
                    'db_table': 'cases_calendarday',
                    'ordering': ['day'],
                },
            ),
            migrations.CreateModel(
                name='AccessLog',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('username', models.CharField(max_length=150)),
                    ('at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ('action', models.CharField(choices=[('view', 'viewed a record'), ('list', 'listed or searched'), ('export', 'exported'), ('update', 'changed a record')], max_length=8)),
                    ('patient_ids', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), blank=True, default=list, size=None)),
                    ('query', models.JSONField(blank=True, default=dict)),
                    ('reason', models.CharField(blank=True, max_length=300)),
                    ('user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'verbose_name': 'access log entry',
                    'verbose_name_plural': 'access log',
                    'db_table': 'cases_accesslog',
                    'ordering': ['-at'],
                    'indexes': [models.Index(fields=['user', 'at'], name='cases_acces_user_id_8aeb4b_idx'), django.contrib.postgres.indexes.GinIndex(fields=['patient_ids'], name='cases_acces_patient_f4eafc_gin')],
                },
            ),
        ]),
    ]

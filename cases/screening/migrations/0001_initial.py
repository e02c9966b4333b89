"""The screening models, moved from the `cases` app. Their tables were created by
cases/migrations 0004–0006 and keep their names (Meta.db_table): this migration changes
the project's state only, no table and no row."""

import django.contrib.gis.db.models.fields
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
                name='Campaign',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('code', models.CharField(max_length=64, unique=True, verbose_name='code')),
                    ('name', models.CharField(max_length=200, verbose_name='name')),
                    ('kind', models.CharField(choices=[('township_half_yearly', 'township half-yearly special screening'), ('village_quarterly', 'village quarterly screening'), ('annual_full', 'annual whole-area screening'), ('special', 'special screening')], max_length=24, verbose_name='kind')),
                    ('starts_on', models.DateField(verbose_name='starts on')),
                    ('ends_on', models.DateField(verbose_name='ends on')),
                    ('target', models.DecimalField(decimal_places=4, max_digits=5, verbose_name='target coverage')),
                    ('coverage_at', models.DateTimeField(blank=True, null=True)),
                    ('extra', models.JSONField(blank=True, default=dict)),
                    ('scope', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='campaigns', to='gridmap.gridunit', verbose_name='scope')),
                ],
                options={
                    'verbose_name': 'screening campaign',
                    'verbose_name_plural': 'screening campaigns',
                    'db_table': 'cases_campaign',
                    'ordering': ['-starts_on', 'code'],
                },
            ),
            migrations.CreateModel(
                name='CoverageCount',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('level', models.PositiveSmallIntegerField()),
                    ('households', models.PositiveIntegerField()),
                    ('screened', models.PositiveIntegerField()),
                    ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='coverage', to='screening.campaign')),
                    ('unit', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='gridmap.gridunit')),
                ],
                options={
                    'db_table': 'cases_coveragecount',
                },
            ),
            migrations.CreateModel(
                name='Visit',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('visited_at', models.DateTimeField(verbose_name='visited at')),
                    ('geom', django.contrib.gis.db.models.fields.PointField(blank=True, null=True, srid=4326, verbose_name='GPS fix')),
                    ('result', models.CharField(choices=[('无异常', 'nothing unusual'), ('发现疑似患者', 'suspected case found'), ('无人在家', 'nobody home')], max_length=8, verbose_name='result')),
                    ('distance_m', models.FloatField(blank=True, null=True)),
                    ('on_site', models.BooleanField(null=True)),
                    ('screened', models.BooleanField(default=False)),
                    ('extra', models.JSONField(blank=True, default=dict)),
                    ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='visits', to='screening.campaign')),
                    ('household', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='visits', to='gridmap.household')),
                    ('worker', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'verbose_name': 'screening visit',
                    'verbose_name_plural': 'screening visits',
                    'db_table': 'cases_visit',
                },
            ),
            migrations.CreateModel(
                name='SuspectedCase',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('found_at', models.DateTimeField()),
                    ('diagnose_by', models.DateTimeField()),
                    ('status', models.CharField(choices=[('referred', 'referred for diagnosis'), ('confirmed', 'confirmed: registered as a patient'), ('excluded', 'not a case')], default='referred', max_length=12)),
                    ('closed_at', models.DateTimeField(blank=True, null=True)),
                    ('calendar_fallback_years', models.JSONField(blank=True, default=list)),
                    ('household', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='gridmap.household')),
                    ('patient', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='patients.patient')),
                    ('visit', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='suspected_case', to='screening.visit')),
                ],
                options={
                    'verbose_name': 'suspected case',
                    'verbose_name_plural': 'suspected cases',
                    'db_table': 'cases_suspectedcase',
                },
            ),
            migrations.AddConstraint(
                model_name='campaign',
                constraint=models.CheckConstraint(condition=models.Q(('ends_on__gte', models.F('starts_on'))), name='campaign_window_ordered'),
            ),
            migrations.AddConstraint(
                model_name='campaign',
                constraint=models.CheckConstraint(condition=models.Q(('target__gte', 0), ('target__lte', 1)), name='campaign_target_share'),
            ),
            migrations.AddIndex(
                model_name='coveragecount',
                index=models.Index(fields=['campaign', 'level'], name='cases_cover_campaig_045cef_idx'),
            ),
            migrations.AddConstraint(
                model_name='coveragecount',
                constraint=models.UniqueConstraint(fields=('campaign', 'unit'), name='coverage_once'),
            ),
            migrations.AddIndex(
                model_name='visit',
                index=models.Index(condition=models.Q(('screened', True)), fields=['campaign', 'household'], name='visit_screened'),
            ),
            migrations.AddConstraint(
                model_name='visit',
                constraint=models.UniqueConstraint(fields=('campaign', 'household', 'visited_at'), name='visit_once'),
            ),
        ]),
    ]

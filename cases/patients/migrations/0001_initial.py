"""The patient register's models, moved from the `cases` app. Their tables were created by
cases/migrations 0001–0006 and keep their names (Meta.db_table): this migration changes
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
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='Guardian',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('key', models.CharField(max_length=80, unique=True)),
                    ('id_number', models.CharField(blank=True, max_length=18, null=True, unique=True, verbose_name='ID number')),
                    ('name', models.CharField(max_length=100, verbose_name='name')),
                    ('phone', models.CharField(blank=True, max_length=40, verbose_name='phone')),
                    ('birth_date', models.DateField(blank=True, null=True, verbose_name='date of birth')),
                    ('unable', models.BooleanField(default=False, verbose_name='unable to act through physical illness')),
                ],
                options={
                    'verbose_name': 'guardian',
                    'verbose_name_plural': 'guardians',
                    'db_table': 'cases_guardian',
                },
            ),
            migrations.CreateModel(
                name='Patient',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('patient_no', models.CharField(max_length=64, unique=True, verbose_name='patient number')),
                    ('name', models.CharField(max_length=100, verbose_name='name')),
                    ('id_number', models.CharField(blank=True, max_length=18, verbose_name='ID number')),
                    ('sex', models.CharField(blank=True, choices=[('M', 'male'), ('F', 'female')], max_length=1, verbose_name='sex')),
                    ('birth_date', models.DateField(blank=True, null=True, verbose_name='date of birth')),
                    ('diagnosis', models.CharField(choices=[('精神分裂症', 'schizophrenia'), ('分裂情感性障碍', 'schizoaffective disorder'), ('偏执性精神病', 'persistent delusional disorder'), ('双相（情感）障碍', 'bipolar disorder'), ('癫痫所致精神障碍', 'mental disorder due to epilepsy'), ('精神发育迟滞伴发精神障碍', 'intellectual disability with mental disorder')], max_length=32, verbose_name='diagnosis')),
                    ('registered_on', models.DateField(blank=True, null=True, verbose_name='registered on')),
                    ('residence_address', models.CharField(max_length=300, verbose_name='residence address')),
                    ('geom', django.contrib.gis.db.models.fields.PointField(blank=True, null=True, srid=4326, verbose_name='residence')),
                    ('resident_since', models.DateField(blank=True, null=True, verbose_name='resident since')),
                    ('outside', models.BooleanField(default=False, verbose_name='residence outside the stored area')),
                    ('registration_address', models.CharField(blank=True, max_length=300, verbose_name='registration address')),
                    ('registration_code', models.CharField(blank=True, max_length=64, verbose_name='registration unit code')),
                    ('risk_level', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='risk level')),
                    ('risk_assessed_on', models.DateField(blank=True, null=True, verbose_name='risk assessed on')),
                    ('condition', models.CharField(blank=True, choices=[('稳定', 'stable'), ('基本稳定', 'basically stable'), ('不稳定', 'unstable')], max_length=8, verbose_name='condition')),
                    ('consent', models.CharField(blank=True, choices=[('同意', 'consented'), ('不同意', 'refused')], max_length=8, verbose_name='consent')),
                    ('status', models.CharField(choices=[('在管', 'managed'), ('失访', 'lost to follow-up'), ('非在管', 'not managed'), ('住院', 'in hospital'), ('死亡', 'deceased'), ('出库', 'removed from register')], default='在管', max_length=8, verbose_name='management status')),
                    ('guardian_relation', models.CharField(blank=True, max_length=40, verbose_name='relation to guardian')),
                    ('prior_incidents', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=20), blank=True, default=list, size=None, verbose_name='prior incidents')),
                    ('admissions_past_year', models.PositiveSmallIntegerField(default=0, verbose_name='admissions in the past year')),
                    ('psychotic_symptoms', models.BooleanField(default=False, verbose_name='hallucinations or delusions')),
                    ('violent_tendency', models.BooleanField(default=False, verbose_name='harmful behaviour or tendency')),
                    ('extra', models.JSONField(blank=True, default=dict)),
                    ('key_groups', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=20), blank=True, default=list, size=None, verbose_name='key groups')),
                    ('next_due', models.DateField(blank=True, null=True, verbose_name='next follow-up due')),
                    ('followups_this_year', models.PositiveSmallIntegerField(default=0)),
                    ('face_to_face_due', models.BooleanField(default=False)),
                    ('classified_on', models.DateField(blank=True, null=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('county', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='gridmap.gridunit')),
                    ('grid', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='gridmap.gridunit')),
                    ('guardian', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='patients', to='patients.guardian', verbose_name='guardian')),
                    ('household', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='patients', to='gridmap.household')),
                    ('micro_grid', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='gridmap.gridunit')),
                    ('registration_unit', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='registered_patients', to='gridmap.gridunit')),
                    ('township', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='gridmap.gridunit')),
                    ('village', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='gridmap.gridunit')),
                ],
                options={
                    'verbose_name': 'patient',
                    'verbose_name_plural': 'patients',
                    'db_table': 'cases_patient',
                    'ordering': ['patient_no'],
                },
            ),
            migrations.CreateModel(
                name='LostSearch',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('searched_on', models.DateField(verbose_name='date')),
                    ('action', models.TextField(verbose_name='search action')),
                    ('found', models.BooleanField(default=False, verbose_name='found')),
                    ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='searches', to='patients.patient')),
                ],
                options={
                    'verbose_name': 'search action',
                    'verbose_name_plural': 'search actions',
                    'db_table': 'cases_lostsearch',
                    'ordering': ['patient', 'searched_on'],
                },
            ),
            migrations.CreateModel(
                name='FollowUp',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('followed_at', models.DateTimeField(verbose_name='followed up at')),
                    ('method', models.CharField(choices=[('面访', 'face to face'), ('电话', 'telephone')], max_length=4, verbose_name='method')),
                    ('reached', models.BooleanField(verbose_name='reached')),
                    ('condition', models.CharField(blank=True, choices=[('稳定', 'stable'), ('基本稳定', 'basically stable'), ('不稳定', 'unstable')], max_length=8, verbose_name='condition')),
                    ('risk_level', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='risk level')),
                    ('medication', models.CharField(blank=True, choices=[('规律', 'regular'), ('间断', 'irregular'), ('不服药', 'not taking')], max_length=8, verbose_name='medication')),
                    ('extra', models.JSONField(blank=True, default=dict)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='followups', to='patients.patient')),
                ],
                options={
                    'verbose_name': 'follow-up',
                    'verbose_name_plural': 'follow-ups',
                    'db_table': 'cases_followup',
                    'ordering': ['patient', '-followed_at'],
                },
            ),
            migrations.CreateModel(
                name='EventReport',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(choices=[('lost_contact', 'lost contact'), ('no_guardian', 'no guardian'), ('irregular_medication', 'irregular medication'), ('relapse', 'relapse or worsening'), ('incident_risk', 'other incident risk'), ('likely_to_leave', 'likely to leave')], max_length=24, verbose_name='event')),
                    ('discovered_at', models.DateTimeField(verbose_name='discovered')),
                    ('reported_at', models.DateTimeField(blank=True, null=True, verbose_name='reported')),
                    ('due_by', models.DateTimeField(verbose_name='report by')),
                    ('note', models.TextField(blank=True, verbose_name='note')),
                    ('reported_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='event_reports', to='patients.patient')),
                ],
                options={
                    'verbose_name': 'event report',
                    'verbose_name_plural': 'event reports',
                    'db_table': 'cases_eventreport',
                    'ordering': ['-discovered_at'],
                },
            ),
            migrations.CreateModel(
                name='RiskAssessment',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('assessed_on', models.DateField(verbose_name='assessed on')),
                    ('level', models.PositiveSmallIntegerField(verbose_name='risk level')),
                    ('source', models.CharField(choices=[('ledger', 'ledger import'), ('follow_up', 'follow-up'), ('form', 'form')], max_length=16)),
                    ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='risk_assessments', to='patients.patient')),
                ],
                options={
                    'verbose_name': 'risk assessment',
                    'verbose_name_plural': 'risk assessments',
                    'db_table': 'cases_riskassessment',
                    'ordering': ['patient', '-assessed_on'],
                },
            ),
            migrations.CreateModel(
                name='Task',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(choices=[('retry', 'follow-up retry'), ('face_to_face', 'quarterly face-to-face visit'), ('mobilise_admission', 'mobilise admission'), ('phone_follow_up', 'telephone follow-up during a transfer')], max_length=24)),
                    ('due_on', models.DateField(blank=True, null=True, verbose_name='due')),
                    ('opened_on', models.DateField(verbose_name='opened')),
                    ('closed_on', models.DateField(blank=True, null=True, verbose_name='closed')),
                    ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tasks', to='patients.patient')),
                    ('unit', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='gridmap.gridunit')),
                ],
                options={
                    'verbose_name': 'task',
                    'verbose_name_plural': 'tasks',
                    'db_table': 'cases_task',
                },
            ),
            migrations.CreateModel(
                name='TeamOverride',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('role', models.CharField(choices=[('police', 'police officer'), ('village_committee', 'village committee'), ('village_doctor', 'village doctor'), ('liaison_leader', 'village liaison leader')], max_length=32, verbose_name='role')),
                    ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='team_overrides', to='patients.patient')),
                    ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'verbose_name': 'team override',
                    'verbose_name_plural': 'team overrides',
                    'db_table': 'cases_teamoverride',
                },
            ),
            migrations.AddIndex(
                model_name='patient',
                index=models.Index(fields=['status'], name='cases_patie_status_30f44c_idx'),
            ),
            migrations.AddIndex(
                model_name='patient',
                index=models.Index(fields=['next_due'], name='cases_patie_next_du_196dd1_idx'),
            ),
            migrations.AddConstraint(
                model_name='patient',
                constraint=models.CheckConstraint(condition=models.Q(('risk_level__isnull', True), ('risk_level__lte', 5), _connector='OR'), name='patient_risk_0_to_5'),
            ),
            migrations.AddConstraint(
                model_name='followup',
                constraint=models.UniqueConstraint(fields=('patient', 'followed_at', 'method'), name='followup_once_per_time_method'),
            ),
            migrations.AddConstraint(
                model_name='riskassessment',
                constraint=models.UniqueConstraint(fields=('patient', 'assessed_on', 'source'), name='risk_once_per_day_source'),
            ),
            migrations.AddConstraint(
                model_name='riskassessment',
                constraint=models.CheckConstraint(condition=models.Q(('level__lte', 5)), name='risk_assessment_0_to_5'),
            ),
            migrations.AddConstraint(
                model_name='task',
                constraint=models.UniqueConstraint(condition=models.Q(('closed_on__isnull', True)), fields=('patient', 'kind'), name='one_open_task_per_kind'),
            ),
            migrations.AddConstraint(
                model_name='teamoverride',
                constraint=models.UniqueConstraint(fields=('patient', 'role'), name='override_once_per_role'),
            ),
        ]),
    ]

"""The register's models leave the `cases` app for their subjects' apps: patients, transfers
and screening, and the access log and calendar corrections for the grid app. Nothing in
the database changes: every table keeps its name and its rows, and only the project's
state forgets the old places. The content types (and so the permissions granted on them)
are handed to the new app labels, so that no administrator's permission is lost."""

from django.db import migrations

MOVED = {  # model name -> its new app label
    "guardian": "patients", "patient": "patients", "followup": "patients", "riskassessment": "patients",
    "teamoverride": "patients", "task": "patients", "lostsearch": "patients", "eventreport": "patients",
    "transfer": "transfers", "transferattachment": "transfers", "alert": "transfers",
    "notification": "transfers",
    "campaign": "screening", "visit": "screening", "suspectedcase": "screening", "coveragecount": "screening",
    "accesslog": "gridmap", "calendarday": "gridmap",
}


def content_types_forward(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model, label in MOVED.items():
        # A content type the new app already has (made by an earlier post_migrate) wins.
        if not ContentType.objects.filter(app_label=label, model=model).exists():
            ContentType.objects.filter(app_label="cases", model=model).update(app_label=label)


def content_types_backward(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model, label in MOVED.items():
        if not ContentType.objects.filter(app_label="cases", model=model).exists():
            ContentType.objects.filter(app_label=label, model=model).update(app_label="cases")


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0006_extra_columns'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('gridmap', '0007_access_log_and_calendar'),
        ('patients', '0001_initial'),
        ('transfers', '0001_initial'),
        ('screening', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveField(
                model_name='accesslog',
                name='user',
            ),
            migrations.RemoveField(
                model_name='alert',
                name='event_report',
            ),
            migrations.RemoveField(
                model_name='alert',
                name='transfer',
            ),
            migrations.RemoveField(
                model_name='alert',
                name='unit',
            ),
            migrations.DeleteModel(
                name='CalendarDay',
            ),
            migrations.RemoveField(
                model_name='campaign',
                name='scope',
            ),
            migrations.RemoveField(
                model_name='visit',
                name='campaign',
            ),
            migrations.RemoveField(
                model_name='coveragecount',
                name='campaign',
            ),
            migrations.RemoveField(
                model_name='coveragecount',
                name='unit',
            ),
            migrations.RemoveField(
                model_name='eventreport',
                name='patient',
            ),
            migrations.RemoveField(
                model_name='eventreport',
                name='reported_by',
            ),
            migrations.RemoveField(
                model_name='followup',
                name='patient',
            ),
            migrations.RemoveField(
                model_name='followup',
                name='recorded_by',
            ),
            migrations.RemoveField(
                model_name='patient',
                name='guardian',
            ),
            migrations.RemoveField(
                model_name='lostsearch',
                name='patient',
            ),
            migrations.RemoveField(
                model_name='lostsearch',
                name='recorded_by',
            ),
            migrations.RemoveField(
                model_name='notification',
                name='patient',
            ),
            migrations.RemoveField(
                model_name='notification',
                name='transfer',
            ),
            migrations.RemoveField(
                model_name='notification',
                name='user',
            ),
            migrations.RemoveField(
                model_name='patient',
                name='county',
            ),
            migrations.RemoveField(
                model_name='patient',
                name='grid',
            ),
            migrations.RemoveField(
                model_name='patient',
                name='household',
            ),
            migrations.RemoveField(
                model_name='patient',
                name='micro_grid',
            ),
            migrations.RemoveField(
                model_name='patient',
                name='registration_unit',
            ),
            migrations.RemoveField(
                model_name='patient',
                name='township',
            ),
            migrations.RemoveField(
                model_name='patient',
                name='village',
            ),
            migrations.RemoveField(
                model_name='teamoverride',
                name='patient',
            ),
            migrations.RemoveField(
                model_name='task',
                name='patient',
            ),
            migrations.RemoveField(
                model_name='suspectedcase',
                name='patient',
            ),
            migrations.RemoveField(
                model_name='riskassessment',
                name='patient',
            ),
            migrations.RemoveField(
                model_name='transfer',
                name='patient',
            ),
            migrations.RemoveField(
                model_name='suspectedcase',
                name='household',
            ),
            migrations.RemoveField(
                model_name='suspectedcase',
                name='visit',
            ),
            migrations.RemoveField(
                model_name='task',
                name='unit',
            ),
            migrations.RemoveField(
                model_name='teamoverride',
                name='user',
            ),
            migrations.RemoveField(
                model_name='transfer',
                name='from_unit',
            ),
            migrations.RemoveField(
                model_name='transfer',
                name='to_household',
            ),
            migrations.RemoveField(
                model_name='transfer',
                name='to_unit',
            ),
            migrations.RemoveField(
                model_name='transferattachment',
                name='transfer',
            ),
            migrations.RemoveField(
                model_name='transferattachment',
                name='uploaded_by',
            ),
            migrations.RemoveField(
                model_name='visit',
                name='household',
            ),
            migrations.RemoveField(
                model_name='visit',
                name='worker',
            ),
            migrations.DeleteModel(
                name='AccessLog',
            ),
            migrations.DeleteModel(
                name='Alert',
            ),
            migrations.DeleteModel(
                name='Campaign',
            ),
            migrations.DeleteModel(
                name='CoverageCount',
            ),
            migrations.DeleteModel(
                name='EventReport',
            ),
            migrations.DeleteModel(
                name='FollowUp',
            ),
            migrations.DeleteModel(
                name='Guardian',
            ),
            migrations.DeleteModel(
                name='LostSearch',
            ),
            migrations.DeleteModel(
                name='Notification',
            ),
            migrations.DeleteModel(
                name='RiskAssessment',
            ),
            migrations.DeleteModel(
                name='Patient',
            ),
            migrations.DeleteModel(
                name='SuspectedCase',
            ),
            migrations.DeleteModel(
                name='Task',
            ),
            migrations.DeleteModel(
                name='TeamOverride',
            ),
            migrations.DeleteModel(
                name='Transfer',
            ),
            migrations.DeleteModel(
                name='TransferAttachment',
            ),
            migrations.DeleteModel(
                name='Visit',
            ),
        ]),
        migrations.RunPython(content_types_forward, content_types_backward),
    ]

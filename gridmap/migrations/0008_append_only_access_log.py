"""The access log becomes append-only and tamper-evident (issue 10, Deliver 6), says why for
every row, and break-glass grants are kept. Rows written before say `care`: they were
the pages' and exports' own reads. The chain is computed over them once, in id order,
before the triggers that refuse changes are installed."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# The content a row's hash covers, chained to the previous row's hash. Epoch microseconds
# and jsonb's canonical text keep it independent of the session's time zone and key order.
CHAIN_SQL = r"""
CREATE FUNCTION cases_accesslog_digest(prev text, r cases_accesslog) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(concat_ws(E'\x1f', prev, r.seq::text, r.id::text,
    coalesce(r.user_id::text, ''), r.username, ((extract(epoch FROM r.at) * 1000000)::bigint)::text,
    r.action, r.purpose, r.reason, r.patient_ids::text, r.query::text, r.path), 'UTF8')), 'hex')
$$;

DO $$
DECLARE r cases_accesslog; prev text := ''; n bigint := 0;
BEGIN
  FOR r IN SELECT * FROM cases_accesslog ORDER BY id LOOP
    n := n + 1;
    r.seq := n;
    UPDATE cases_accesslog SET seq = n, prev_hash = prev, hash = cases_accesslog_digest(prev, r)
    WHERE id = r.id;
    prev := cases_accesslog_digest(prev, r);
  END LOOP;
END $$;

-- A new row starts unchained, whatever the writer sent.
CREATE FUNCTION cases_accesslog_unchained() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.seq := NULL; NEW.prev_hash := ''; NEW.hash := '';
  RETURN NEW;
END $$;
CREATE TRIGGER cases_accesslog_unchained BEFORE INSERT ON cases_accesslog
  FOR EACH ROW EXECUTE FUNCTION cases_accesslog_unchained();

-- At commit, rows are numbered and chained one at a time under a lock held until the
-- commit ends: the previous row is always committed, and the order is the commit order.
CREATE FUNCTION cases_accesslog_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r cases_accesslog; last_seq bigint; last_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('cases_accesslog_chain'));
  SELECT seq, hash INTO last_seq, last_hash FROM cases_accesslog
    WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1;
  SELECT * INTO r FROM cases_accesslog WHERE id = NEW.id;
  r.seq := coalesce(last_seq, 0) + 1;
  r.prev_hash := coalesce(last_hash, '');
  UPDATE cases_accesslog SET seq = r.seq, prev_hash = r.prev_hash,
         hash = cases_accesslog_digest(r.prev_hash, r) WHERE id = NEW.id;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER cases_accesslog_chain AFTER INSERT ON cases_accesslog
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cases_accesslog_chain();

-- Nothing written is changed or removed; the one update allowed is the chaining of a
-- row not chained yet, which changes nothing else. A test database may be emptied
-- between tests (the setting below is set on test databases only, tests/conftest.py).
CREATE FUNCTION cases_accesslog_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' AND current_setting('gridcare.audit_truncate', true) = 'on' THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND OLD.hash = '' AND NEW.seq IS NOT NULL
     AND (NEW.id, NEW.user_id, NEW.username, NEW.at, NEW.action, NEW.purpose, NEW.reason,
          NEW.patient_ids, NEW.query, NEW.path)
         IS NOT DISTINCT FROM (OLD.id, OLD.user_id, OLD.username, OLD.at, OLD.action, OLD.purpose,
                               OLD.reason, OLD.patient_ids, OLD.query, OLD.path) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the access log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER cases_accesslog_append_only BEFORE UPDATE OR DELETE ON cases_accesslog
  FOR EACH ROW EXECUTE FUNCTION cases_accesslog_refuse();
CREATE TRIGGER cases_accesslog_no_truncate BEFORE TRUNCATE ON cases_accesslog
  FOR EACH STATEMENT EXECUTE FUNCTION cases_accesslog_refuse();
"""

UNCHAIN_SQL = """
DROP TRIGGER cases_accesslog_no_truncate ON cases_accesslog;
DROP TRIGGER cases_accesslog_append_only ON cases_accesslog;
DROP TRIGGER cases_accesslog_chain ON cases_accesslog;
DROP TRIGGER cases_accesslog_unchained ON cases_accesslog;
DROP FUNCTION cases_accesslog_refuse();
DROP FUNCTION cases_accesslog_chain();
DROP FUNCTION cases_accesslog_unchained();
DROP FUNCTION cases_accesslog_digest(text, cases_accesslog);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('gridmap', '0007_access_log_and_calendar'),
    ]

    operations = [
        migrations.CreateModel(
            name='AccessGrant',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('patient_id', models.BigIntegerField()),
                ('reason', models.CharField(max_length=300, verbose_name='why')),
                ('granted_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField()),
            ],
            options={
                'verbose_name': 'break-glass access',
                'verbose_name_plural': 'break-glass accesses',
                'ordering': ['-granted_at'],
            },
        ),
        migrations.AddField(
            model_name='accesslog',
            name='hash',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='accesslog',
            name='path',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name='accesslog',
            name='seq',
            field=models.BigIntegerField(editable=False, null=True, unique=True),
        ),
        migrations.AddField(
            model_name='accesslog',
            name='prev_hash',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='accesslog',
            name='purpose',
            field=models.CharField(blank=True, choices=[('care', 'daily management and follow-up'), ('report', 'statistics and reporting'), ('transfer', 'transfer and handover'), ('screening', 'screening'), ('verify', 'verification'), ('emergency', 'emergency (break-glass)'), ('audit', 'audit'), ('other', 'other (say why)')], max_length=16, verbose_name='purpose'),
        ),
        migrations.AlterField(
            model_name='accesslog',
            name='action',
            field=models.CharField(choices=[('view', 'viewed a record'), ('list', 'listed or searched'), ('export', 'exported'), ('update', 'changed a record'), ('denied', 'was refused'), ('break_glass', 'opened a record outside their units (break-glass)'), ('unmask', 'revealed an ID or phone number')], max_length=16),
        ),
        migrations.AlterField(
            model_name='accesslog',
            name='reason',
            field=models.CharField(blank=True, max_length=300, verbose_name='why'),
        ),
        migrations.AlterField(
            model_name='accesslog',
            name='user',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='accesslog',
            index=models.Index(fields=['action', 'at'], name='cases_acces_action_80780e_idx'),
        ),
        migrations.RunSQL("UPDATE cases_accesslog SET purpose = 'care' WHERE purpose = '' AND action <> 'denied'",
                          migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name='accesslog',
            constraint=models.CheckConstraint(condition=models.Q(('action', 'denied'), models.Q(('purpose', ''), _negated=True), _connector='OR'), name='accesslog_has_a_purpose'),
        ),
        migrations.AddConstraint(
            model_name='accesslog',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(models.Q(('purpose', 'other'), _negated=True), models.Q(('action', 'break_glass'), _negated=True)), models.Q(('reason', ''), _negated=True), _connector='OR'), name='accesslog_reason_when_needed'),
        ),
        migrations.AddField(
            model_name='accessgrant',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='grants', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='accessgrant',
            index=models.Index(fields=['user', 'expires_at'], name='gridmap_acc_user_id_5276b8_idx'),
        ),
        migrations.AddConstraint(
            model_name='accessgrant',
            constraint=models.CheckConstraint(condition=models.Q(('reason', ''), _negated=True), name='grant_has_a_reason'),
        ),
        migrations.RunSQL(CHAIN_SQL, UNCHAIN_SQL),
    ]

"""API representations of patients and follow-ups, trimmed to what the reader may see (R35)."""

import operator

from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from cases.patients import rules
from cases.patients.models import EventReport, FollowUp, Patient
from cases.patients.rules import Condition, Consent, DeathSource, KeyGroup, Status
from geodata.cells import plausible_date
from geodata.extent import SWAPPED_HINT, outside_china
from gridmap import access, crypto
from gridmap.calendar import local_today
from gridmap.models import LEVEL_FIELDS

NOTE_LENGTH = 2000  # an event's note: what was seen, not a document

# Which field group (gridmap.access) each output field belongs to.
FIELD_GROUPS = {
    access.IDENTITY: ["id", "patient_no", "name", "sex", "birth_date", "residence_address",
                         "units", "outside", "registration_code", "status", "died_on", "death_source",
                         "guardian", "team",
                         "lon", "lat"],
    access.ID_NUMBER: ["id_number"],
    access.RISK: ["risk_level", "risk_assessed_on", "prior_incidents", "violent_tendency",
                     "key_groups"],
    access.MEDICAL: ["diagnosis", "condition", "consent", "next_due", "days_overdue",
                        "followups_this_year", "face_to_face_due", "psychotic_symptoms",
                        "admissions_past_year"],
}


# The columns a representation reads, for a list to fetch only these: the model fields
# among the output fields, the placement (units, R35) and the guardian's relation (the
# guardian's ID number is not decrypted for a list).
READS = (*sorted({f.name for f in Patient._meta.concrete_fields}
                 & {name for names in FIELD_GROUPS.values() for name in names}),
         *LEVEL_FIELDS.values(), "registration_unit", "guardian_relation")
# What a list reads besides READS, in its rows: the units' codes, the guardian's contact
# and the chains deciding each row's field groups (PatientQuerySet's with_* methods).
UNIT_CODES = tuple(f"{level}.code" for level in LEVEL_FIELDS.values())


def visible_fields(groups: frozenset[str]) -> set[str]:
    """The output fields these field groups show."""
    return {name for group, names in FIELD_GROUPS.items() if group in groups for name in names}


class PatientSerializer(serializers.ModelSerializer):
    units = serializers.SerializerMethodField()
    guardian = serializers.SerializerMethodField()
    team = serializers.SerializerMethodField()
    days_overdue = serializers.SerializerMethodField()
    lon = serializers.SerializerMethodField()
    lat = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = sorted({n for names in FIELD_GROUPS.values() for n in names})

    @extend_schema_field(inline_serializer("PatientUnits", fields={
        level: serializers.CharField(allow_null=True, help_text="the unit's code")
        for level in LEVEL_FIELDS.values()}))
    def get_units(self, p: Patient) -> dict:
        if hasattr(p, "county_code"):  # read with the row (PatientQuerySet.with_unit_naming)
            return {level: getattr(p, f"{level}_code") for level in LEVEL_FIELDS.values()}
        return {level: getattr(p, level).code if getattr(p, f"{level}_id") else None
                for level in LEVEL_FIELDS.values()}

    @extend_schema_field(inline_serializer("PatientGuardian", allow_null=True, fields={
        "name": serializers.CharField(), "phone": serializers.CharField(help_text="masked unless revealed"),
        "relation": serializers.CharField()}))
    def get_guardian(self, p: Patient) -> dict | None:
        if not p.guardian_id:
            return None
        if hasattr(p, "guardian_name"):  # read with the row (PatientQuerySet.with_guardian_contact)
            return {"name": p.guardian_name, "phone": p.guardian_phone, "relation": p.guardian_relation}
        return {"name": p.guardian.name, "phone": p.guardian.phone, "relation": p.guardian_relation}

    @extend_schema_field(inline_serializer("PatientTeam", allow_null=True, fields={
        "members": serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                         help_text="the people in each role of the team (R20)"),
        "gaps": serializers.ListField(child=serializers.CharField(), help_text="the roles nobody fills")}))
    def get_team(self, p: Patient) -> dict | None:
        team = self.context.get("teams", {}).get(p.pk)
        if team is None:
            return None
        return {"members": {role: [str(u) for u in people] for role, people in team.members.items()},
                "gaps": team.gaps}

    def get_days_overdue(self, p: Patient) -> int:
        return rules.days_overdue(p.next_due, self.context.get("as_of") or local_today())

    def get_lon(self, p: Patient) -> float | None:
        if hasattr(p, "geom_lon"):  # read by PostGIS (PatientQuerySet.with_coordinates)
            return p.geom_lon
        return p.geom.x if p.geom else None

    def get_lat(self, p: Patient) -> float | None:
        if hasattr(p, "geom_lat"):
            return p.geom_lat
        return p.geom.y if p.geom else None

    # The readers for each set of field groups, made once per process: the fields DRF builds
    # for a ModelSerializer (a fifth of a list's serializing time) hold no state of a request.
    _readers_by_groups: dict[frozenset[str], list] = {}

    def _readers(self, groups: frozenset[str]) -> list:
        """For these field groups, (name, read, field) per output field they show, in the
        serializer's order: `read(patient)` is what DRF's get_attribute gives, without its
        per-row walk over every declared field (a page of 50 reads in a third of the time);
        `read` is None for a method field, `field` then its method's name."""
        readers = self._readers_by_groups.get(groups)
        if readers is None:
            allowed = visible_fields(groups)
            readers = []
            for field in self._readable_fields:
                if field.field_name not in allowed:
                    continue
                if isinstance(field, serializers.SerializerMethodField):
                    readers.append((field.field_name, None, field.method_name))
                elif len(field.source_attrs) == 1:
                    readers.append((field.field_name, operator.attrgetter(field.source_attrs[0]), field))
                else:
                    readers.append((field.field_name, field.get_attribute, field))
            self._readers_by_groups[groups] = readers
        return readers

    def to_representation(self, instance):
        """Only the fields the reader's roles on this patient's units show (R35); the ID and
        telephone numbers masked unless revealed (context "revealed", a logged action)."""
        data = {}
        # What is withheld is not even read (or decrypted).
        for name, read, field in self._readers(self.context["groups"][instance.pk]):
            if read is None:
                data[name] = getattr(self, field)(instance)
            else:
                value = read(instance)
                data[name] = None if value is None else field.to_representation(value)
        revealed = self.context.get("revealed", frozenset())
        if data.get("id_number") and "id_number" not in revealed:
            data["id_number"] = crypto.mask_id(data["id_number"])
        if data.get("guardian") and data["guardian"]["phone"] and "phone" not in revealed:
            data["guardian"] = {**data["guardian"], "phone": crypto.mask_phone(data["guardian"]["phone"])}
        return data


class PatientSchema(OpenApiSerializerExtension):
    """R35 in the schema: an answer holds every field of the field groups the reader's roles
    on the patient give and no other, so the fields of the groups every role gives are
    required and the rest may be absent."""

    target_class = PatientSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        always = visible_fields(frozenset.intersection(*access.ROLE_FIELD_GROUPS.values()))
        schema["required"] = sorted(always & set(schema["properties"]))
        return schema


class IdentifiersSerializer(serializers.Serializer):
    """The numbers in full, of those the reader may reveal (absent: not theirs to see)."""

    id_number = serializers.CharField(required=False)
    guardian_phone = serializers.CharField(required=False)


class PatientUpdateSerializer(serializers.Serializer):
    """What the API and the patient form may change; each field needs its field group."""

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    residence_address = serializers.CharField(max_length=300, required=False)
    resident_since = serializers.DateField(required=False, allow_null=True, validators=[plausible_date])
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)
    risk_level = serializers.IntegerField(min_value=0, max_value=5, required=False)  # R2
    risk_assessed_on = serializers.DateField(required=False, validators=[plausible_date])
    condition = serializers.ChoiceField(choices=Condition.choices, required=False)
    consent = serializers.ChoiceField(choices=Consent.choices, required=False)
    died_on = serializers.DateField(required=False, validators=[plausible_date])
    death_source = serializers.ChoiceField(choices=DeathSource.choices, required=False)

    # The management status and a death are the medical team's to record (R4); removal from
    # the register (出库) is a joint-meeting decision with evidence (R11), never a field edit.
    NEEDS = {"risk_level": access.RISK, "risk_assessed_on": access.RISK, "status": access.MEDICAL,
             "died_on": access.MEDICAL, "death_source": access.MEDICAL,
             "condition": access.MEDICAL, "consent": access.MEDICAL}

    def validate(self, attrs):
        groups = self.context["groups"]
        errors = {name: ["you may not change this field"] for name in attrs
                  if self.NEEDS.get(name, access.IDENTITY) not in groups}
        errors.update(self._status_errors(attrs, self.context.get("current_status")))
        if ("lon" in attrs) != ("lat" in attrs):
            errors["lat" if "lon" in attrs else "lon"] = ["give both lon and lat"]
        elif "lon" in attrs and outside_china(attrs["lon"], attrs["lat"]):
            errors["lon"] = [f"the point lies outside China: {SWAPPED_HINT}"]
        if errors:
            raise serializers.ValidationError(errors)
        if "lon" in attrs:
            attrs["point"] = Point(attrs.pop("lon"), attrs.pop("lat"), srid=settings.GRIDCARE_SRID)
        return attrs

    # A recorded death (R4) and a removal (R11) end the register's record: no field edit
    # brings the patient back onto worklists and key groups.
    FINAL = (Status.DEAD, Status.REMOVED)

    @classmethod
    def _status_errors(cls, attrs, current: str | None) -> dict[str, list[str]]:
        """R11: no removal by a field edit; R4: a death needs its date and source; neither
        is undone by one."""
        status = attrs.get("status")
        if current in cls.FINAL and status is not None and status != current:
            return {"status": [f"the patient is recorded as {current}: that is not undone by changing "
                               "the status (R4, R11)"]}
        if status == Status.REMOVED:
            return {"status": ["removal from the register (出库) is decided by a joint meeting with "
                               "evidence (R11), not by changing the status"]}
        if status == Status.DEAD:
            missing = {name: ["required to record a death (R4)"]
                       for name in ("died_on", "death_source") if not attrs.get(name)}
            if attrs.get("died_on") and attrs["died_on"] > local_today():
                missing["died_on"] = ["cannot be in the future"]
            return missing
        if "died_on" in attrs or "death_source" in attrs:
            return {"status": [f"set the status to {Status.DEAD} with the date and source of the death"]}
        return {}


class FollowUpSerializer(serializers.ModelSerializer):
    """A follow-up attempt (formats.md §4); condition blank when not reached."""

    class Meta:
        model = FollowUp
        fields = ["id", "followed_at", "method", "reached", "condition", "risk_level", "medication"]
        extra_kwargs = {"risk_level": {"min_value": 0, "max_value": 5},
                        "followed_at": {"validators": [plausible_date]}}

    def validate(self, attrs):
        if not attrs.get("reached") and attrs.get("condition"):
            raise serializers.ValidationError(
                {"condition": ["must be blank when the patient was not reached"]})
        return attrs


class PatientFilterSerializer(serializers.Serializer):
    """Query parameters of the patient list; bad ones are a 400, not a 500."""

    unit = serializers.CharField(required=False)
    key_group = serializers.ChoiceField(choices=KeyGroup.choices, required=False)
    risk = serializers.IntegerField(min_value=0, max_value=5, required=False)
    # Not a BooleanField: DRF reads an absent boolean in a query string as False.
    overdue = serializers.ChoiceField(choices=["true", "false"], required=False)
    q = serializers.CharField(required=False, max_length=100)
    reason = serializers.CharField(required=False, max_length=300)

    def validate_overdue(self, value: str) -> bool:
        return value == "true"


class EventReportSerializer(serializers.ModelSerializer):
    """R27/R28: a discovered event; `reported` false records it to report later."""

    reported = serializers.BooleanField(default=True, write_only=True)
    late = serializers.BooleanField(read_only=True)
    note = serializers.CharField(max_length=NOTE_LENGTH, required=False, allow_blank=True)

    def to_representation(self, instance):
        """The note says what was seen (a relapse, symptoms): medical detail (R35)."""
        data = super().to_representation(instance)
        if access.MEDICAL not in self.context.get("groups", frozenset()):
            data.pop("note", None)
        return data

    class Meta:
        model = EventReport
        fields = ["id", "kind", "discovered_at", "reported_at", "due_by", "note", "late", "reported"]
        read_only_fields = ["reported_at", "due_by"]

    def validate_discovered_at(self, value):
        if value > timezone.now():
            raise serializers.ValidationError("cannot be in the future")
        plausible_date(value)
        return value

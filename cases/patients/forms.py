"""Forms of the patient pages; the same rules as the API serializers."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.patients.models import EventReport, FollowUp
from cases.patients.rules import Condition, KeyGroup
from geodata.cells import plausible_date
from geodata.extent import outside_china
from gridmap.models import AccessLog


class FollowUpForm(forms.Form):
    """One follow-up attempt (formats.md §4); R5–R10 are applied when it is saved."""

    followed_at = forms.DateTimeField(label=_("Followed up at"), validators=[plausible_date],
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    method = forms.ChoiceField(label=_("Method"), choices=FollowUp.Method.choices)
    reached = forms.TypedChoiceField(label=_("Reached the patient or family"),
                                     choices=[("1", _("yes")), ("0", _("no"))],
                                     coerce=lambda v: v == "1")
    condition = forms.ChoiceField(label=_("Condition"), required=False,
                                  choices=[("", _("from the risk level"))] + Condition.choices)
    risk_level = forms.TypedChoiceField(label=_("Risk level (re-assessment)"), required=False,
                                        choices=[("", "—")] + [(str(i), str(i)) for i in range(6)],
                                        coerce=int, empty_value=None)
    medication = forms.ChoiceField(label=_("Medication"), required=False,
                                   choices=[("", "—")] + FollowUp.Medication.choices)

    def clean(self):
        data = super().clean()
        if data.get("reached") is False and data.get("condition"):
            self.add_error("condition", _("Leave the condition blank when the patient was not reached."))
        return data


class PatientFilterForm(forms.Form):
    unit = forms.CharField(label=_("Unit code"), required=False)
    key_group = forms.ChoiceField(label=_("Key group"), required=False,
                                  choices=[("", _("all"))] + KeyGroup.choices)
    risk = forms.TypedChoiceField(label=_("Risk level"), required=False, coerce=int, empty_value=None,
                                  choices=[("", _("all"))] + [(str(i), str(i)) for i in range(6)])
    overdue = forms.TypedChoiceField(label=_("Follow-up"), required=False, empty_value=None,
                                     coerce=lambda v: v == "true",
                                     choices=[("", _("all")), ("true", _("overdue")),
                                              ("false", _("not overdue"))])
    q = forms.CharField(label=_("Search"), required=False, max_length=100)


class EventReportForm(forms.Form):
    """R27/R28: an event discovered about a patient, reported to the township group."""

    kind = forms.ChoiceField(label=_("Event"), choices=EventReport.Kind.choices)
    discovered_at = forms.DateTimeField(label=_("Discovered at"), validators=[plausible_date],
                                        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)

    def clean_discovered_at(self):
        value = self.cleaned_data["discovered_at"]
        if value > timezone.now():
            raise forms.ValidationError(_("The discovery cannot be in the future."))
        return value


class ResidenceForm(forms.Form):
    """A new residence (R23): the point decides whether it is a move, and of which kind
    (cases.transfers takes the form)."""

    residence_address = forms.CharField(label=_("New address"), max_length=300)
    lon = forms.FloatField(label=_("Longitude (WGS84)"))
    lat = forms.FloatField(label=_("Latitude (WGS84)"))

    def clean(self):
        data = super().clean()
        if "lon" in data and "lat" in data:
            if outside_china(data["lon"], data["lat"]):
                raise forms.ValidationError(_("The point lies outside China: are longitude and "
                                              "latitude swapped?"))
        return data


class AuditFilterForm(forms.Form):
    """The access-log viewer's filters: by person, patient, action and period."""

    username = forms.CharField(label=_("Person (username)"), required=False, max_length=150)
    patient = forms.CharField(label=_("Patient number"), required=False, max_length=64)
    action = forms.ChoiceField(label=_("Action"), required=False,
                               choices=[("", "—"), *AccessLog.Action.choices])
    since = forms.DateField(label=_("From (date)"), required=False, validators=[plausible_date],
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To (date)"), required=False, validators=[plausible_date],
                            widget=forms.DateInput(attrs={"type": "date"}))

"""Forms every app's pages share."""

from django import forms
from django.utils.translation import gettext_lazy as _

from gridmap.models import Purpose

EXPORT_PURPOSES = [Purpose.CARE, Purpose.REPORT, Purpose.TRANSFER, Purpose.VERIFY, Purpose.OTHER]


class ExportPurposeForm(forms.Form):
    """Why a person exports patients (R35; seed 000 §三(二)): a purpose from the list, and
    the words for "other". Written to the access log with the export."""

    purpose = forms.ChoiceField(label=_("Purpose"), choices=[("", "—")] + [
        (p.value, p.label) for p in EXPORT_PURPOSES])
    reason = forms.CharField(label=_("Why, in words"), required=False, max_length=300)

    def clean(self):
        data = super().clean()
        if data.get("purpose") == Purpose.OTHER and not data.get("reason", "").strip():
            self.add_error("reason", _("Say why when the purpose is “other”."))
        return data


class BreakGlassForm(forms.Form):
    """Open a patient outside one's units: the patient's number or ID number, and why."""

    patient = forms.CharField(label=_("Patient number or ID number"), max_length=64)
    reason = forms.CharField(label=_("Why you need this record now"), min_length=10, max_length=300,
                             widget=forms.Textarea(attrs={"rows": 3}))

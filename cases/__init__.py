"""Patients, their care teams, follow-ups, moves and screening (issues #3–#5)."""

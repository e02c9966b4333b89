"""The patient register: patients, guardians, follow-ups, risk, key groups, 五包一 teams,
event reports and ledgers (R1–R22, R27, R28)."""

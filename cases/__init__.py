"""The case work, one Django app per subject: the patient register (cases.patients,
R1–R22), moves and transfers (cases.transfers, R23–R28) and screening (cases.screening,
R30–R33). Dependencies run one way: transfers → patients → gridmap; screening → gridmap."""

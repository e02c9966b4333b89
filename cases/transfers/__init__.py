"""Moves, handoffs and transfers: detection, the transfer steps and their deadlines,
disputes, letters, alerts (R23–R28)."""

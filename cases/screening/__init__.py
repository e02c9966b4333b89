"""Screening: campaigns, visits, suspected cases, stored coverage, hexagons and mop-up
lists (R30–R33)."""

"""The demo county (略阳县): generated files imported through the real importers, then
moves, transfers and screening taken through their real services (`seed_demo`)."""

"""Sessions read from the cache (Redis) and written through to the database, with the cache
only a shortcut: should Redis be down, every read and write goes to the database and the
pages keep working (Django's cached_db store raises when it refills the cache after a miss,
and when it deletes).

Why the cache at all: a request then reads its session without a database round trip (a
map asks for dozens of tiles at once; bench/results.md, "unit tiles")."""

import logging

from django.contrib.sessions.backends import cached_db, db

logger = logging.getLogger("django.contrib.sessions")


class SessionStore(cached_db.SessionStore):
    def load(self):
        try:
            return super().load()
        except Exception:  # the cache is down: the database holds every session
            logger.warning("session cache unavailable; reading the session from the database")
            return db.SessionStore.load(self)

    def delete(self, session_key=None):
        try:
            super().delete(session_key)  # the database row first, then the cache's copy
        except Exception:
            logger.warning("session cache unavailable; the session was deleted from the database only")

"""Path converters of every app's URLs (registered in GridmapConfig.ready, before any
URLconf is read)."""


class CodeConverter:
    """A code in a path (a unit's, a campaign's): any text without a slash, like Django's
    `str`, and without a NUL character, which no PostgreSQL text holds: such a path names
    nothing (a 404), where looking it up would fail (a 500)."""

    regex = "[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value

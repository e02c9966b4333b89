"""What every page's header needs from the apps (settings.TEMPLATES)."""

from cases.patients.selectors import audits


def navigation(request) -> dict:
    """Links shown to those who may follow them; evaluated only when a page asks."""
    return {"audits": lambda: request.user.is_authenticated and audits(request.user)}

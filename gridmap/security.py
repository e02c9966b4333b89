"""Request-level protections that hold for every page, API answer and download
(docs/security.md). Who may see which rows and fields is decided in gridmap.access; this
module keeps what was shown from being kept anywhere it should not be."""

from django.utils.cache import add_never_cache_headers, patch_cache_control


class NoStoreMiddleware:
    """Nothing the application answers is stored by a browser or a proxy: patient pages,
    API answers and exports hold personal and medical data (seed 000 §三(二)). Static
    files are served before this (WhiteNoise) and stay cacheable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
        response.headers.setdefault("Pragma", "no-cache")
        return response

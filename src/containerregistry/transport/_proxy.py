"""Proxy selection from the environment (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY), shared by both transports.

Both transports resolve proxies here rather than through their libraries' own `trust_env`
handling, so they agree, and so aiohttp never reads `~/.netrc` credentials behind our back.
"""

from __future__ import annotations

import urllib.request

__all__ = ["ProxyResolver"]


class ProxyResolver:
    """Decides which proxy URL (if any) serves a request.

    Args:
        trust_env: read proxies from the environment (and, on macOS/Windows, the system settings
            that `urllib.request.getproxies` consults). `False` means never use a proxy.
    """

    def __init__(self, *, trust_env: bool = True) -> None:
        self._proxies: dict[str, str] = {}
        if trust_env:
            proxies = urllib.request.getproxies()
            for scheme in ("http", "https"):
                url = proxies.get(scheme) or proxies.get("all")
                if url:
                    self._proxies[scheme] = url if "://" in url else f"http://{url}"
        self._bypass: dict[str, bool] = {}

    def proxy_for(self, scheme: str, host: str) -> str | None:
        """Return the proxy URL for a request to `scheme://host`, or `None` to connect directly."""
        proxy = self._proxies.get(scheme)
        if proxy is None:
            return None
        bypass = self._bypass.get(host)
        if bypass is None:
            # proxy_bypass reads NO_PROXY (and the platform settings); cache it per host since
            # it rescans os.environ on every call.
            bypass = bool(urllib.request.proxy_bypass(host))
            self._bypass[host] = bypass
        return None if bypass else proxy

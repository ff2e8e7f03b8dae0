"""Security headers on every response: no framing, no sniffing, no caching of personal data.

Pages show revealed personal data, and so do API answers: neither may stay in a browser's or a
proxy's cache (`Cache-Control: no-store`). Static assets are the exception. The Content-Security-Policy
admits scripts and styles from this server only (inline `style` attributes aside), so an injected
`<script>` would not run; the interactive API docs load Swagger UI from its CDN and are left without
the policy.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_ALWAYS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
_DOCS_PREFIXES = ("/docs", "/redoc")


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = list(_ALWAYS)
        if not path.startswith(_DOCS_PREFIXES):
            extra.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
        if not path.startswith("/static/"):
            extra.append((b"cache-control", b"no-store"))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, with_headers)

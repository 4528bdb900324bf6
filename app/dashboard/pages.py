"""The dashboard's three pages, as HTML shells: a header, an empty `<main>` that
`static/dashboard.js` fills from the JSON API, and the page's CSRF token. The only values
written into the HTML are escaped here; everything else is set with `textContent` by the
script."""

from __future__ import annotations

from html import escape

STATIC = "/static/dashboard"
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def shell(
    *,
    page: str,
    title: str,
    csrf_token: str,
    principal: str,
    crumbs: tuple[tuple[str, str | None], ...] = (),
    data: dict[str, str] | None = None,
) -> str:
    """A page: `page` names what the script renders (home, board, session); `crumbs` are
    (label, href) of the breadcrumb trail; `data` becomes `data-*` attributes of `<main>`."""
    attributes = "".join(
        f' data-{escape(key)}="{escape(value)}"' for key, value in (data or {}).items()
    )
    trail = "".join(
        f'<li><a href="{escape(href)}">{escape(label)}</a></li>'
        if href
        else f'<li aria-current="page">{escape(label)}</li>'
        for label, href in (("autocoder", "/"), *crumbs)
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="csrf-token" content="{escape(csrf_token)}">
<title>{escape(title)} · autocoder</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{STATIC}/dashboard.css">
<script defer src="{STATIC}/dashboard.js"></script>
<script defer src="{STATIC}/assistant.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<nav aria-label="Breadcrumb"><ol class="crumbs">{trail}</ol></nav>
<span class="who">signed in as <strong>{escape(principal)}</strong></span>
</header>
<main id="main" tabindex="-1" data-page="{escape(page)}"{attributes}>
<h1>{escape(title)}</h1>
<p class="status" role="status" aria-live="polite"></p>
</main>
<noscript><p>The dashboard needs JavaScript; the same data is under /api/dashboard/.</p></noscript>
</body>
</html>
"""

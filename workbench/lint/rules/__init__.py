"""Rule families, one module per concept; importing this package registers every rule."""

from . import (  # noqa: F401
    compare,
    kontext,
    kontext_runs,
    language,
    length,
    lighting,
    params,
    quality,
    sources,
    style,
    subject,
    syntax,
    tools,
    wording,
)

"""Sphinx configuration for the bouncekit documentation."""

from __future__ import annotations

from sphinx.ext.napoleon import _process_docstring as _napoleon_process_docstring

import bouncekit

project = "bouncekit"
author = "bouncekit developers"
copyright = "2026, bouncekit developers"
release = bouncekit.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "myst_parser",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# The build must work offline, so there is no intersphinx: names from the
# standard library or attrs appear as plain text, not as links.

# MyST: ``:::`` fences for directives, and anchors for headings down to level 3
# so pages can link to a section with ``page.md#section``.
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# The attrs classes list their fields in a napoleon "Attributes:" section,
# which napoleon renders as one ``.. attribute::`` entry per field, so that
# ``Bounce.defects`` can be linked to. autodoc leaves the fields themselves
# out because they have no docstring: adding ``:undoc-members:`` to an attrs
# class in api.md would describe every field twice.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = False

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# The public classes live in private modules (``bouncekit._model.Bounce``), and
# autodoc records that path as each class's canonical name. Short type names
# keep those private paths out of signatures and field types.
python_use_unqualified_type_names = True

html_theme = "furo"
html_title = f"bouncekit {release}"


def _skip_inline_types(app, what, name, obj, options, lines):  # type: ignore[no-untyped-def]  # noqa: PLR0917
    if what not in ("attribute", "data", "property"):
        _napoleon_process_docstring(app, what, name, obj, options, lines)


def setup(app):  # type: ignore[no-untyped-def]
    """
    Keep napoleon away from the docstrings of attributes and properties.

    napoleon reads ``text: more text`` on the first line of such a docstring
    as ``type: description``, which turns "Whether the class is 4: the same
    message may be delivered later." into a type named "Whether the class is
    4". bouncekit takes types from annotations, so those docstrings are left
    as written and napoleon still handles every other docstring.
    """
    for listener in list(app.events.listeners["autodoc-process-docstring"]):
        if listener.handler is _napoleon_process_docstring:
            app.disconnect(listener.id)
    app.connect("autodoc-process-docstring", _skip_inline_types)

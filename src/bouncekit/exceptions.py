"""
The exceptions bouncekit raises.

Every exception derives from :class:`BounceKitError`. Parsing never raises on
malformed input: what is wrong becomes a :class:`~bouncekit.Defect` on the result.
"""

from __future__ import annotations

__all__ = ["BounceKitError"]


class BounceKitError(Exception):
    """The root of every exception bouncekit raises."""

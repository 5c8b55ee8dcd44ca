"""Routing to private support: rules → route → outbox → senders, plus the agents' actions.

``route_pending`` decides (in the caller's transaction); ``outbox.deliver_due`` delivers;
``actions`` are what the dashboard's buttons call.
"""

from __future__ import annotations

from monitor.routing.engine import route_pending

__all__ = ["route_pending"]

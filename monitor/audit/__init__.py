"""The moderation audit: hash-chained events, status transitions, cadence, dossiers and figures.

The two entry points the pipeline uses are re-exported here; the rest lives in submodules
(``cadence``, ``verify``, ``lockouts``, ``dossier``, ``figures``, ``retention``).
"""

from monitor.audit.chain import ChainLink, EventDraft, append_event, append_events, chain_head
from monitor.audit.observe import record_observations

__all__ = ["ChainLink", "EventDraft", "append_event", "append_events", "chain_head", "record_observations"]

"""complaintwatch core: config, storage, pipeline, scheduler, routing, audit log and the CLI."""

__version__ = "0.1.0"

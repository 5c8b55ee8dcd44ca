"""Platform adapters: one module per platform, all with the interface in ``collectors.base``."""

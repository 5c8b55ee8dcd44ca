"""Local fake servers that speak each platform's documented protocol on 127.0.0.1."""

"""Channels: platform events in, replies out (webhook, local demo page, Genesys Cloud)."""

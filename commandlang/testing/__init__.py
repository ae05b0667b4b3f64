"""Test helpers for commandlang users and for our own tests (fake platforms on loopback)."""

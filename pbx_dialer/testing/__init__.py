"""Test/demo helpers: a real Asterisk provisioned by the project (see asterisk.py)."""

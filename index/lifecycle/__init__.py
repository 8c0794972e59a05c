"""Keeping an index current: remove, sync, watch a folder, follow feeds."""

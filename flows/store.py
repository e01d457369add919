"""What the command line knows of stores, reached through flows/: the store used when none is
given, and the error a store in use by another run raises."""

from __future__ import annotations

from regionflow.storage.locks import StoreLocked
from regionflow.storage.store import default_store_url

__all__ = ["StoreLocked", "default_store_url"]

"""API tokens: their format, their storage, and who may read what."""

"""Sinks: where batches of events and table rows go. See ``base`` for the protocol."""

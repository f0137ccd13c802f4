"""Per-token rate limits: a token bucket in memory, or in Redis shared by all workers."""

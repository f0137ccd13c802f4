"""The scenario: model, loading from YAML, and user-facing validation errors."""

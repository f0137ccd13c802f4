"""The data resources: one per table, all built from ``fauxsim.tables`` specs."""

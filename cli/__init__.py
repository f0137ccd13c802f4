"""The ``fauxsim`` command."""

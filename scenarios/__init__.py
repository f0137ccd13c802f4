"""The scenario files that ship with Faux Genie (``fauxsim scenarios`` lists them)."""

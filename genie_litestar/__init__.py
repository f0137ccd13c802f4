"""Genie: the read-only HTTP API over a Faux Genie database (Litestar).

Built with :func:`genie_litestar.app.create_app`; served by ``fauxsim serve``.
"""

"""Fixtures shared by the integration tests: the broker of the stream tests."""

from tests.integration.test_stream import amqp_url, broker

__all__ = ["amqp_url", "broker"]

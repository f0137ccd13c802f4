"""The RabbitMQ stream: every delivered event on a topic exchange, with publisher confirms."""

from fauxsim.sinks.stream.sink import DEFAULT_EXCHANGE, StreamSink, open_stream_sink

__all__ = ["DEFAULT_EXCHANGE", "StreamSink", "open_stream_sink"]

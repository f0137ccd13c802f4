"""Where a stream stands: the watermark of the last batch whose every message was confirmed.

One small JSON file per (broker, vhost, exchange, dataset), written atomically (a temporary
file, then ``os.replace``) after each confirmed batch. A run of the same command reads it
and resumes after that watermark; another scenario, seed or code version has another
file, and starts from the beginning. Deleting the file makes the next run publish all.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from typing import IO, TYPE_CHECKING

import platformdirs

from fauxsim.errors import SinkError
from fauxsim.sinks.postgres.ledger import DatasetIdentity

if TYPE_CHECKING:
    from pathlib import Path

    from fauxsim.sinks.stream.address import BrokerAddress


def default_state_dir() -> Path:
    return platformdirs.user_data_path("fauxsim") / "streams"


@dataclass(frozen=True, slots=True)
class StreamState:
    """The file recording how far one dataset was published to one exchange."""

    path: Path
    broker: str  # host:port/vhost, for a reader of the file
    exchange: str
    identity: DatasetIdentity

    @classmethod
    def for_run(
        cls,
        address: BrokerAddress,
        exchange: str,
        identity: DatasetIdentity,
        state_dir: Path | None,
    ) -> StreamState:
        key = (
            address.host,
            address.port,
            address.vhost,
            exchange,
            identity.scenario_digest,
            identity.seed,
            identity.code_version,
        )
        digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:32]
        folder = state_dir if state_dir is not None else default_state_dir()
        broker = f"{address.host}:{address.port}{_vhost_path(address.vhost)}"
        return cls(folder / f"{digest}.json", broker, exchange, identity)

    def read(self) -> int | None:
        """The confirmed watermark recorded for this dataset, or None to start from scratch."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as error:
            msg = f"cannot read the stream state {self.path}: {error.strerror}"
            raise SinkError(msg) from None
        try:
            recorded = json.loads(text)
            identity = DatasetIdentity(**recorded["dataset"])
            watermark = int(recorded["watermark"])
        except (ValueError, TypeError, KeyError):
            msg = (
                f"the stream state {self.path} is damaged; delete it to publish "
                "the run again from the beginning"
            )
            raise SinkError(msg) from None
        return watermark if identity.same_data_as(self.identity) else None

    def record(self, watermark: int) -> None:
        """Atomically replace the file with ``watermark`` (every message up to it confirmed)."""
        content = {
            "broker": self.broker,
            "exchange": self.exchange,
            "dataset": asdict(self.identity),
            "watermark": watermark,
        }
        temporary = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("w", encoding="utf-8") as file:
                json.dump(content, file, indent=1)
                file.flush()
                os.fsync(file.fileno())
            temporary.replace(self.path)
        except OSError as error:
            msg = f"cannot write the stream state {self.path}: {error.strerror}"
            raise SinkError(msg) from None

    def lock(self) -> IO[bytes]:
        """Hold the dataset's lock file while a run publishes it: a second run of the same
        command is refused instead of racing the first for the state. The OS lets go of it
        when the holder ends, however it ends; close the returned file to let go before."""
        lock_path = self.path.with_suffix(".lock")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            holder = lock_path.open("ab")
        except OSError as error:
            msg = f"cannot write the stream state folder {self.path.parent}: {error.strerror}"
            raise SinkError(msg) from None
        try:
            fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder.close()
            msg = (
                f"another run is publishing this dataset to exchange {self.exchange!r} on "
                f"{self.broker} (it holds {lock_path}); wait for it to end or stop it"
            )
            raise SinkError(msg) from None
        return holder


def _vhost_path(vhost: str) -> str:
    return "/" if vhost == "/" else f"/{vhost}"

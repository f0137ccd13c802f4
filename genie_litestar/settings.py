"""Everything a running Genie can be told, from arguments or ``GENIE_*`` variables."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from genie_litestar.errors import GenieError


class ChaosProfile(BaseModel):
    """Seeded misbehaviour so that learners can practise retries.

    Each request draws once from a stream seeded by ``seed`` and the request's number,
    so the same seed and the same request order give the same failures.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    share_429: float = Field(default=0.0, ge=0.0, le=1.0)
    share_503: float = Field(default=0.0, ge=0.0, le=1.0)
    max_latency_ms: int = Field(default=0, ge=0, le=10_000)


CHAOS_PROFILES: dict[str, ChaosProfile] = {
    "gentle": ChaosProfile(share_429=0.02, share_503=0.01, max_latency_ms=50),
    "flaky": ChaosProfile(share_429=0.1, share_503=0.05, max_latency_ms=200),
    "hostile": ChaosProfile(share_429=0.25, share_503=0.15, max_latency_ms=1000),
}


def chaos_profile(name: str, seed: int = 0) -> ChaosProfile:
    """The named chaos profile, seeded; an unknown name lists the valid ones."""
    try:
        profile = CHAOS_PROFILES[name]
    except KeyError:
        valid = ", ".join(CHAOS_PROFILES)
        msg = f"unknown chaos profile {name!r}. Valid values are: {valid}"
        raise GenieError(msg) from None
    return profile.model_copy(update={"seed": seed})


class GenieSettings(BaseSettings):
    """How one Genie process serves one database."""

    model_config = SettingsConfigDict(env_prefix="GENIE_", frozen=True, extra="forbid")

    database_url: str
    # Link headers are built from this, never from the request's Host header, which a
    # client (or a proxy) controls.
    public_base_url: HttpUrl = HttpUrl("http://localhost:8000")
    settle_seconds: float = Field(default=60.0, ge=0.0)
    rate_limit_burst: int = Field(default=40, ge=1)
    rate_limit_per_second: float = Field(default=4.0, gt=0.0)
    redis_url: str | None = None
    chaos: ChaosProfile | None = None
    statement_timeout_ms: int = Field(default=5_000, ge=1)
    retry_after_seconds: int = Field(default=1, ge=1)
    cors_allow_origins: tuple[str, ...] = ()
    # A live generator is meant to write beside this API (fauxsim serve --live): /health
    # reports whether one does.
    live_generator: bool = False
    # Signs cursors. Every worker of one server must share it; `fauxsim serve` makes
    # one per start when none is given, so cursors do not outlive a restart.
    cursor_secret: SecretStr
    pool_min_size: int = Field(default=1, ge=1)
    pool_max_size: int = Field(default=8, ge=1)

    @field_validator("cursor_secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr) -> SecretStr:
        minimum = 16
        if len(secret.get_secret_value()) < minimum:
            msg = f"cursor_secret must have at least {minimum} characters"
            raise ValueError(msg)
        return secret

    @property
    def base_url(self) -> str:
        return str(self.public_base_url).rstrip("/")

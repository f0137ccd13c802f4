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
    # Signs cursors. By default Genie keeps a key in the database (genie_secrets), which
    # every worker shares and which outlives restarts; a value here replaces it.
    cursor_secret: SecretStr | None = None
    # Failed authentications an address may make at once, then one per refill period,
    # before it gets 429 without a token lookup (per process).
    auth_failure_burst: int = Field(default=20, ge=1)
    auth_failure_refill_seconds: float = Field(default=2.0, gt=0.0)
    pool_min_size: int = Field(default=1, ge=1)
    pool_max_size: int = Field(default=8, ge=1)

    @field_validator("cursor_secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker compose passes ${GENIE_CURSOR_SECRET:-} as an empty variable.
        return None if value == "" else value

    @field_validator("cursor_secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        minimum = 16
        if secret is not None and len(secret.get_secret_value()) < minimum:
            msg = f"must have at least {minimum} characters"
            raise ValueError(msg)
        return secret

    @property
    def base_url(self) -> str:
        return str(self.public_base_url).rstrip("/")

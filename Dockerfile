# Faux Genie: the fauxsim command (generator, token management) and the Genie API.

# Build the wheel where a C compiler is: it compiles the two C parts (the row converter
# and the scheduler loop, see README). The image that runs needs no compiler.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml hatch_build.py README.md LICENSE ./
COPY fauxsim fauxsim
COPY cli cli
COPY genie_litestar genie_litestar
COPY scenarios scenarios
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --create-home --uid 10001 genie

USER genie
EXPOSE 8000
CMD ["fauxsim", "serve", "--host", "0.0.0.0", "--port", "8000"]

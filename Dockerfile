# Faux Genie: the fauxsim command (generator, token management) and the Genie API.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY fauxsim fauxsim
COPY cli cli
COPY genie_litestar genie_litestar
COPY scenarios scenarios
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 genie

USER genie
EXPOSE 8000
CMD ["fauxsim", "serve", "--host", "0.0.0.0", "--port", "8000"]

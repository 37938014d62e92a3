# Container for scheduled dossier rebuilds in CI (see README, "Scheduled rebuilds in CI").
#   docker build -t dossier .
#   docker run --rm -v "$PWD:/work" -w /work dossier build examples/examplinib/study.yaml --check
FROM python:3.11-slim-bookworm

# WeasyPrint's system libraries (Pango, HarfBuzz); fonts come from the package itself.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/dossier
COPY pyproject.toml README.md ./
COPY dossier ./dossier
RUN pip install --no-cache-dir . && useradd --create-home dossier

USER dossier
ENTRYPOINT ["dossier"]
CMD ["--help"]

# The app image for docker-compose.yml (deployment). Debian's GDAL/GEOS/PROJ
# for GeoDjango; pyogrio's wheel brings its own GDAL for file I/O.
FROM python:3.11-slim-bookworm
# postgresql-client: pg_dump/pg_restore of the server's version (15) for `manage.py backup`.
# npm: the map pages' front-end packages (package-lock.json), served by the app.
RUN apt-get update && apt-get install -y --no-install-recommends gdal-bin gettext postgresql-client npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY config config
COPY gridmap gridmap
COPY cases cases
COPY geodata geodata
COPY demo demo
COPY static static
COPY locale locale
COPY manage.py ./
RUN pip install --no-cache-dir . && mkdir -p var \
    && DATABASE_URL=postgres://build@localhost/build GRIDCARE_SECRET_KEY=build \
       python manage.py compilemessages && \
       DATABASE_URL=postgres://build@localhost/build GRIDCARE_SECRET_KEY=build \
       python manage.py collectstatic --noinput
EXPOSE 8000

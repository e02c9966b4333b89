"""The Django project: settings from the environment, the root URLs, the WSGI entry
point and the cron table. It wires the apps together and holds no domain logic."""

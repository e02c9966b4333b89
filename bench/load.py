"""The load test: the patient list page and API under 20 concurrent clients (DESIGN.md,
"Performance": ≥ 50 requests/s with p95 ≤ 300 ms; probe finding 12 measured 5.7/s).

In its own database (`<name>_load`, the demo county: ~880 patients, its staff), served
by gunicorn with config/gunicorn.py on loopback, driven by locust headless
(bench/locustfile.py) as the township's 精防人员 (`health_staff`):

1. one client as fast as answered: the serial latency, the naive baseline;
2. 20 clients as fast as answered: what the server can do at most;
3. 20 clients at 3 requests/s each (60/s offered): the acceptance run, ≥ 50/s answered
   with p95 ≤ 300 ms and no error.

Each run is bounded: it measures `seconds` from the moment every client has signed in
(sign-ins are not counted), within at most two more minutes for the sign-ins.
"""

import csv
import os
import runpy
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.db import ensure_database

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
TARGET_RPS = 50
TARGET_P95_MS = 300
CLIENTS = 20
USERNAME = "health_staff"  # the township's 精防人员 in the demo county
RATE_PER_CLIENT = 3.0


def load_url(source: str) -> str:
    name = urlsplit(source).path.lstrip("/").removesuffix("_bench")
    return urlunsplit(urlsplit(source)._replace(path=f"/{name}_load"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "GRIDCARE_DEBUG": "false",
            "GRIDCARE_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SETTINGS_MODULE": "config.settings"}


SET_PASSWORD = ("import os; from gridmap.models import User; u = User.objects.get(username=os.environ['U']); "
                "u.set_password(os.environ['P']); u.save()")


def prepare(url: str, username: str) -> str:
    """The load database: migrated, the demo county loaded (seed_demo is idempotent), and
    a password of the run's own for the signed-in persona; returns it."""
    ensure_database(url)
    env = _environment(url)
    password = secrets.token_urlsafe(16)
    for command in (["migrate", "--noinput", "-v", "0"], ["seed_demo"],
                    ["collectstatic", "--noinput", "-v", "0"], ["shell", "-v", "0", "-c", SET_PASSWORD]):
        subprocess.run([str(VENV / "python"), "manage.py", *command], cwd=ROOT, check=True,
                       env={**env, "U": username, "P": password}, stdout=subprocess.DEVNULL)
    return password


def gunicorn_settings(env: dict[str, str]) -> dict:
    """config/gunicorn.py's settings as gunicorn reads them with this environment."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return runpy.run_path(str(ROOT / "config" / "gunicorn.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Server:
    """gunicorn with the project's settings (config/gunicorn.py) on a free loopback port."""

    def __init__(self, url: str, workers: int | None = None, threads: int | None = None):
        self.port = _free_port()
        env = _environment(url)
        if workers:
            env["GRIDCARE_WEB_WORKERS"] = str(workers)
        if threads:
            env["GRIDCARE_WEB_THREADS"] = str(threads)
        env["GRIDCARE_WEB_BIND"] = f"127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="gridcare-load-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [str(VENV / "gunicorn"), "-c", "config/gunicorn.py", "config.wsgi:application"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.host = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.host}/login/", timeout=2)
                break
            except OSError:
                if self.process.poll() is not None:
                    log = Path(self.log.name).read_text()[-2000:]
                    raise SystemExit(f"gunicorn did not start: {log}") from None
                time.sleep(0.2)
        workers_line = next((line for line in Path(self.log.name).read_text().splitlines()
                             if "Using worker" in line), "")
        conf = gunicorn_settings(env)
        self.sizing = (str(conf["workers"]), str(conf["threads"]), workers_line.rsplit(":", 1)[-1].strip(),
                       conf["keepalive"])

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.unlink(self.log.name)


def run_locust(host: str, *, clients: int, seconds: int, rate: float, password: str) -> dict:
    """One bounded headless locust run; the aggregated figures and the per-name ones."""
    with tempfile.TemporaryDirectory() as folder:
        prefix = Path(folder) / "run"
        env = {**os.environ, "GRIDCARE_LOAD_USER": USERNAME, "GRIDCARE_LOAD_PASSWORD": password,
               "GRIDCARE_LOAD_RATE": str(rate), "GRIDCARE_LOAD_SECONDS": str(seconds)}
        subprocess.run(
            [str(VENV / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "--host", host, "-u", str(clients), "-r", str(clients), "-t", f"{seconds + 120}s",
             "--only-summary", "--csv", str(prefix), "--loglevel", "WARNING",
             "--stop-timeout", "10"],
            cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        with open(f"{prefix}_stats.csv", newline="") as f:
            rows = {row["Name"]: row for row in csv.DictReader(f)}

    def number(value: str) -> float:
        try:
            return float(value)
        except ValueError:  # "N/A" where nothing was measured
            return 0.0

    def figures(row: dict) -> dict:
        return {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                "rps": number(row["Requests/s"]), "median_ms": number(row["50%"]),
                "p95_ms": number(row["95%"]), "p99_ms": number(row["99%"]),
                "max_ms": number(row["Max Response Time"])}

    measured = {name: figures(row) for name, row in rows.items()
                if name != "Aggregated" and int(row["Request Count"])}
    total = figures(rows["Aggregated"])
    return {"total": total, "by_name": measured, "clients": clients, "seconds": seconds, "rate": rate}


def bench_load(source_url: str, *, seconds: int = 30, workers: int | None = None,
               threads: int | None = None) -> dict:
    url = load_url(source_url)
    password = prepare(url, USERNAME)
    server = Server(url, workers, threads)
    try:
        runs = {
            "serial": run_locust(server.host, clients=1, seconds=min(seconds, 15), rate=0, password=password),
            "capacity": run_locust(server.host, clients=CLIENTS, seconds=seconds, rate=0, password=password),
            "acceptance": run_locust(server.host, clients=CLIENTS, seconds=seconds, rate=RATE_PER_CLIENT,
                                     password=password),
        }
    finally:
        server.stop()
    accepted = runs["acceptance"]["total"]
    ok = (accepted["rps"] >= TARGET_RPS and accepted["p95_ms"] <= TARGET_P95_MS
          and accepted["failures"] == 0 and runs["capacity"]["total"]["failures"] == 0)
    return {"runs": runs, "sizing": server.sizing, "ok": ok,
            "checks": {"load test: ≥ 50 req/s, p95 ≤ 300 ms, no error": (
                ok, f"{accepted['rps']:.1f} req/s, p95 {accepted['p95_ms']:.0f} ms, "
                    f"{accepted['failures']} failed")}}


def load_summary(result: dict) -> list[str]:
    from datetime import datetime

    from bench.results import code_version, machine, table

    workers, threads, kind, keepalive = result["sizing"]
    runs = result["runs"]
    serial = runs["serial"]["total"]
    capacity = runs["capacity"]["total"]
    accepted = runs["acceptance"]["total"]
    rows = [
        ("date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("machine", machine()),
        ("code", code_version()),
        ("server", f"gunicorn (config/gunicorn.py): {workers} workers × {threads} threads ({kind}), "
                   f"keep-alive {f'{keepalive} s' if keepalive else 'off'}, "
                   "loopback; the demo county (~880 patients), as its township 精防人员 (health_staff)"),
        ("1 client, as fast as answered (the serial baseline)",
         f"{serial['rps']:.1f} req/s, median {serial['median_ms']:.0f} ms, p95 {serial['p95_ms']:.0f} ms"),
        (f"{CLIENTS} clients, as fast as answered (capacity)",
         f"**{capacity['rps']:.1f} req/s** ({capacity['rps'] / serial['rps']:.1f}× the serial rate), "
         f"p95 {capacity['p95_ms']:.0f} ms, {capacity['failures']} failed of {capacity['requests']:,}"),
        (f"{CLIENTS} clients at {RATE_PER_CLIENT:g} req/s each ({CLIENTS * RATE_PER_CLIENT:g}/s offered)",
         f"**{accepted['rps']:.1f} req/s, p95 {accepted['p95_ms']:.0f} ms**, "
         f"{accepted['failures']} failed of {accepted['requests']:,} "
         f"(target ≥ {TARGET_RPS}/s and p95 ≤ {TARGET_P95_MS} ms: {'met' if result['ok'] else 'MISSED'})"),
    ]
    detail = [(run, name, f"{m['rps']:.1f}", f"{m['median_ms']:.0f}", f"{m['p95_ms']:.0f}",
               f"{m['p99_ms']:.0f}", f"{m['failures']}/{m['requests']:,}")
              for run, r in runs.items() for name, m in sorted(r["by_name"].items())]
    return [*table(("measure", "value"), rows), "",
            *table(("run", "request", "req/s", "median ms", "p95 ms", "p99 ms", "failed"), detail)]


if __name__ == "__main__":  # python -m bench.load: the load test alone, printed
    outcome = bench_load(os.environ["DATABASE_URL"], seconds=int(sys.argv[1]) if len(sys.argv) > 1 else 30)
    print("\n".join(load_summary(outcome)))

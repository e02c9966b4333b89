"""What the load tests' clients share (bench/locustfile.py, bench/locustfile_tiles.py): the
signed-in persona from the environment, the pace, and the measured window.

Each client signs in once through the login page, as a browser does, and keeps its session.
Sign-ins are slow on purpose (PBKDF2) and not what is measured: every client waits until all
have signed in, the statistics are reset then, and the run stops GRIDCARE_LOAD_SECONDS later.
A paced client then starts at a random moment of its first period (clients do not ask in step).
"""

import os
import random

import gevent
from gevent.event import Event
from locust import constant, constant_throughput, events

USERNAME = os.environ.get("GRIDCARE_LOAD_USER", "health_staff")
PASSWORD = os.environ["GRIDCARE_LOAD_PASSWORD"]
RATE = float(os.environ.get("GRIDCARE_LOAD_RATE", "0"))  # a second per client; 0: as fast as answered
SECONDS = float(os.environ.get("GRIDCARE_LOAD_SECONDS", "30"))

everyone_in = Event()
signed_in = 0
runs = {}


@events.init.add_listener
def remember(environment, **kwargs):
    runs["environment"] = environment


def pace():
    """The clients' wait_time: GRIDCARE_LOAD_RATE requests a second, or none between them."""
    return constant_throughput(RATE) if RATE > 0 else constant(0)


def sign_in_and_wait(user) -> None:
    """Sign the client in (a failure unless answered with the redirect), then wait until
    every client has; the last one to sign in starts the measured window."""
    global signed_in
    user.client.get("/login/", name="sign in (page)")
    token = next((c.value for c in user.client.cookiejar if c.name == "csrftoken"), "")
    with user.client.post("/login/", name="sign in", catch_response=True, allow_redirects=False,
                          data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token},
                          headers={"Referer": f"{user.host}/login/"}) as answer:
        if answer.status_code != 302:
            answer.failure(f"sign-in answered {answer.status_code}")
    signed_in += 1
    environment = runs["environment"]
    if signed_in == environment.parsed_options.num_users:
        environment.stats.reset_all()
        gevent.spawn_later(SECONDS, environment.runner.quit)
        everyone_in.set()
    everyone_in.wait()
    if RATE > 0:
        # Each client starts at a moment of its own within its first period, as people do:
        # started together, paced clients would keep asking in bursts of all of them at once
        # (20 requests in the same millisecond every third of a second at 3/s), a load no
        # township's staff make and whose queue, not the server, would set the p95.
        gevent.sleep(random.uniform(0, 1 / RATE))


def stop() -> None:
    runs["environment"].runner.quit()

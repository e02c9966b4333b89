"""The unit tiles' load test client (bench.tiles runs it with `locust --headless`): signed-in
people asking for unit tiles (as fast as answered, or GRIDCARE_LOAD_RATE a second each),
every tile of GRIDCARE_TILE_LIST asked once across all clients (so every answer is built,
none comes from the cache).

Sign-ins are not measured: every client waits until all have signed in, the statistics are
reset then, and the run stops GRIDCARE_LOAD_SECONDS later. An answer must be a tile (200,
the vector tile's type), else a failure.
"""

import os

import gevent
from gevent.event import Event
from locust import constant, constant_throughput, events, task
from locust.contrib.fasthttp import FastHttpUser

USERNAME = os.environ["GRIDCARE_LOAD_USER"]
PASSWORD = os.environ["GRIDCARE_LOAD_PASSWORD"]
SECONDS = float(os.environ.get("GRIDCARE_LOAD_SECONDS", "60"))
RATE = float(os.environ.get("GRIDCARE_LOAD_RATE", "0"))  # tiles a second per client; 0: as fast as answered
TILES = iter(open(os.environ["GRIDCARE_TILE_LIST"]).read().split())

MVT = "application/vnd.mapbox-vector-tile"

everyone_in = Event()
signed_in = 0
runs = {}


@events.init.add_listener
def remember(environment, **kwargs):
    runs["environment"] = environment


def one_more_signed_in() -> None:
    global signed_in
    signed_in += 1
    environment = runs["environment"]
    if signed_in == environment.parsed_options.num_users:
        environment.stats.reset_all()
        gevent.spawn_later(SECONDS, environment.runner.quit)
        everyone_in.set()


class MapUser(FastHttpUser):
    wait_time = constant_throughput(RATE) if RATE > 0 else constant(0)

    def on_start(self):
        self.client.get("/login/", name="sign in (page)")
        token = next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")
        self.client.post("/login/", name="sign in", allow_redirects=False,
                         data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token},
                         headers={"Referer": f"{self.host}/login/"})
        one_more_signed_in()
        everyone_in.wait()

    @task
    def tile(self):
        path = next(TILES, None)
        if path is None:  # every tile asked: the run is over
            runs["environment"].runner.quit()
            return
        with self.client.get(path, name="unit tile", catch_response=True) as answer:
            if answer.status_code != 200 or answer.headers.get("Content-Type") != MVT:
                answer.failure(f"{answer.status_code}: not a tile")

"""The unit tiles' load test client (bench.tiles runs it with `locust --headless`): signed-in
people (bench.locust_signin) asking for unit tiles (as fast as answered, or
GRIDCARE_LOAD_RATE a second each), every tile of GRIDCARE_TILE_LIST asked once across all
clients (so every answer is built, none comes from the cache). An answer must be a tile
(200, the vector tile's type), else a failure.
"""

import os

from locust import task
from locust.contrib.fasthttp import FastHttpUser

from bench.locust_signin import pace, sign_in_and_wait, stop

TILES = iter(open(os.environ["GRIDCARE_TILE_LIST"]).read().split())
MVT = "application/vnd.mapbox-vector-tile"


class MapUser(FastHttpUser):
    wait_time = pace()

    def on_start(self):
        sign_in_and_wait(self)

    @task
    def tile(self):
        path = next(TILES, None)
        if path is None:  # every tile asked: the run is over
            stop()
            return
        with self.client.get(path, name="unit tile", catch_response=True) as answer:
            if answer.status_code != 200 or answer.headers.get("Content-Type") != MVT:
                answer.failure(f"{answer.status_code}: not a tile")

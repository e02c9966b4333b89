"""The load test's client (bench.load runs it with `locust --headless`): a township 精防人员
signed in, asking for the patient list page and the patient API in turn, at a set rate per
client (GRIDCARE_LOAD_RATE requests per second; 0 = as fast as answered).

Each client signs in once through the login page, as a browser does, and then keeps its
session. The clients are locust's FastHttpUser (geventhttpclient): the load generator runs
on the same machine as the server and should take as little of it as it can. Sign-ins are
slow on purpose (PBKDF2) and not what is measured: every client waits until all have
signed in, the statistics are reset then, and the run stops GRIDCARE_LOAD_SECONDS later.
Every answer must be the signed-in page (200, the patients' table or the API's JSON), not
a redirect to the login page: a failure otherwise.
"""

import os

import gevent
from gevent.event import Event
from locust import constant, constant_throughput, events, task
from locust.contrib.fasthttp import FastHttpUser

USERNAME = os.environ.get("GRIDCARE_LOAD_USER", "health_staff")
PASSWORD = os.environ["GRIDCARE_LOAD_PASSWORD"]
RATE = float(os.environ.get("GRIDCARE_LOAD_RATE", "0"))
SECONDS = float(os.environ.get("GRIDCARE_LOAD_SECONDS", "30"))

everyone_in = Event()
signed_in = 0
runs = {}


@events.init.add_listener
def remember(environment, **kwargs):
    runs["environment"] = environment


def one_more_signed_in() -> None:
    """The last client to sign in starts the measured window."""
    global signed_in
    signed_in += 1
    environment = runs["environment"]
    if signed_in == environment.parsed_options.num_users:
        environment.stats.reset_all()
        gevent.spawn_later(SECONDS, environment.runner.quit)
        everyone_in.set()


class TownshipHealthStaff(FastHttpUser):
    wait_time = constant_throughput(RATE) if RATE > 0 else constant(0)

    def on_start(self):
        self.client.get("/login/", name="sign in (page)")
        token = next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")
        with self.client.post("/login/", name="sign in", catch_response=True, allow_redirects=False,
                              data={"username": USERNAME, "password": PASSWORD,
                                    "csrfmiddlewaretoken": token},
                              headers={"Referer": f"{self.host}/login/"}) as answer:
            if answer.status_code != 302:
                answer.failure(f"sign-in answered {answer.status_code}")
        one_more_signed_in()
        everyone_in.wait()

    @task
    def patient_list_page(self):
        with self.client.get("/patients/", name="/patients/", catch_response=True,
                             allow_redirects=False) as answer:
            if answer.status_code != 200 or b'id="patients"' not in answer.content:
                answer.failure(f"{answer.status_code}: not the patient list")

    @task
    def patient_api(self):
        with self.client.get("/api/patients/", name="/api/patients/", catch_response=True,
                             allow_redirects=False) as answer:
            if answer.status_code != 200 or not answer.json().get("results"):
                answer.failure(f"{answer.status_code}: no patients")

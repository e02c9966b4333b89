"""The load test's client (bench.load runs it with `locust --headless`): a township 精防人员
signed in (bench.locust_signin), asking for the patient list page and the patient API in
turn, at a set rate per client (GRIDCARE_LOAD_RATE requests per second; 0 = as fast as
answered).

The clients are locust's FastHttpUser (geventhttpclient): the load generator runs on the
same machine as the server and should take as little of it as it can. Every answer must be
the signed-in page (200, the patients' table or the API's JSON), not a redirect to the login
page: a failure otherwise.
"""

from locust import task
from locust.contrib.fasthttp import FastHttpUser

from bench.locust_signin import pace, sign_in_and_wait


class TownshipHealthStaff(FastHttpUser):
    wait_time = pace()

    def on_start(self):
        sign_in_and_wait(self)

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

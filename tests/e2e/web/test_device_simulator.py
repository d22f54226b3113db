"""The device simulator (scripts/simulate_devices.py) against the web app served over HTTP on the
session's chain and IPFS node: its hubs pair, its batches are accepted, and the deterioration
episode raises an urgent alert and then an emergency one."""

import pytest

from scripts import simulate_devices
from scripts.serve import serve
from scripts.simulate_devices import LABEL, simulate


@pytest.fixture(scope="module")
def web_url(app):
    server = serve(app, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


def test_a_deterioration_raises_an_urgent_then_an_emergency_alert(carechain, people, new_patient, web_url, capsys):
    ada, ben = new_patient(), new_patient()
    answers = simulate(carechain, people.admin, {"Ada": ada, "Ben": ben}, web_url, deteriorating="Ada", calm=1,
                       interval=0, batches=5)
    assert [(a.status, a.body["refused"]) for a in answers] == [(200, [])] * 10
    alerted = [(a.patient, a.batch, a.body["score"]) for a in answers if a.body["alert"]]
    assert [(patient, batch) for patient, batch, _ in alerted] == [("Ada", 2), ("Ada", 3)]
    assert "urgent response" in alerted[0][2] and "emergency response" in alerted[1][2]
    assert all(a.body["score"].startswith("NEWS2 0") for a in answers if a.patient == "Ben")
    assert sorted(alert.level for alert in carechain.alerts(ada)) == ["emergency", "urgent"]
    assert carechain.alerts(ben) == []
    for patient, name in ((ada, "Ada"), (ben, "Ben")):
        (device,) = carechain.devices(patient.address)
        assert (device.label, device.revoked) == (LABEL, False)
        assert device.accepted == sum(a.body["accepted"] for a in answers if a.patient == name)
    printed = capsys.readouterr().out
    assert printed.count(f"paired {LABEL!r}") == 2 and printed.count("ALERT raised") == 2


@pytest.mark.parametrize("arguments, error", [
    (["--url", "http://127.0.0.1:9", "--once"], "the web app is not reachable at http://127.0.0.1:9"),
    (["--interval", "0"], "say how many with --batches"),
    ("web", "could not pair a device for Ada"),  # the demo patients are not registered on the test chain
])
def test_the_command_says_what_went_wrong(stack, people, web_url, monkeypatch, capsys, arguments, error):
    for name, value in stack[1].to_environment().items():
        monkeypatch.setenv(name, value)
    assert simulate_devices.main(["--url", web_url, "--once"] if arguments == "web" else arguments) == 1
    assert error in capsys.readouterr().err

"""`python -m scripts.serve` refuses to start against a chain whose id or contract code (CareChain's
or Research's) does not match the deployment manifest, or a manifest without Research, and serves
when they match."""

import dataclasses
import json
import os
import subprocess
import sys
import time

import pytest
import requests

from scripts.localchain import ROOT

PORT = 5106


def serve(settings, manifest):
    return subprocess.Popen([sys.executable, "-m", "scripts.serve", "--port", str(PORT)], cwd=ROOT,
                            env={**os.environ, **dataclasses.replace(settings, manifest=manifest).to_environment()},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(chainId=4242), "has id 1337, the deployment is for 4242"),
    (lambda m: m["contracts"]["CareChain"].update(runtimeCodeHash="0x" + "00" * 32), "is not on the chain"),
    (lambda m: m["contracts"]["Research"].update(runtimeCodeHash="0x" + "00" * 32), "is not on the chain"),
    (lambda m: m["contracts"].pop("Research"), "has no Research contract: deploy the contracts again"),
])
def test_a_mismatched_chain_is_refused_at_start(stack, tmp_path, change, message):
    settings = stack[1]
    manifest = json.loads(settings.manifest.read_text())
    change(manifest)
    wrong = tmp_path / "manifest.json"
    wrong.write_text(json.dumps(manifest))
    process = serve(settings, wrong)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "refusing to start" in errors and message in errors


def test_a_matching_chain_is_served(stack):
    process = serve(stack[1], stack[1].manifest)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                response = requests.get(f"http://127.0.0.1:{PORT}/auth/", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.communicate()
                time.sleep(0.2)
        assert response.status_code == 200 and "Create an account" in response.text
    finally:
        process.terminate()
        process.wait(timeout=10)

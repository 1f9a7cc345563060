"""Every client an agent runs reads egress's explanation, not a bare failure.

From inside a real bottle whose image has node (``node_agent/Dockerfile``):
curl, Python's ``urllib`` and node's ``fetch`` (undici's ``ProxyAgent``: node 18
ignores the proxy variables) each ask for an unrouted host, an unlisted port of
a routed host and a routed name that does not resolve, over HTTPS through the
bottle's proxy and CA as the environment sets them. Each shows the status, the
``X-Bot-Bottle-Egress`` header and the text; the fake upstream accepts no
connection from the bottle and the fake DNS is never asked for the unrouted name.
"""

from __future__ import annotations

import json
import uuid

import pytest
from agent_probes import DENIED, FAILED, Quiet, curl, q
from fake_internet import NX_NAME, dns_queries, launched_bottle

pytestmark = pytest.mark.docker

URLLIB = """
import json, sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=20) as r:
        out = {"status": r.status, "egress": r.headers.get("X-Bot-Bottle-Egress"),
               "body": r.read().decode()}
except urllib.error.HTTPError as e:
    out = {"status": e.code, "egress": e.headers.get("X-Bot-Bottle-Egress"),
           "body": e.read().decode()}
except Exception as e:
    out = {"error": repr(e)}
print(json.dumps(out))
"""

NODE = """
const { fetch, ProxyAgent } = require('undici');
const dispatcher = new ProxyAgent(process.env.HTTPS_PROXY);
fetch(process.argv[1], { dispatcher })
  .then(async (r) => ({
    status: r.status, egress: r.headers.get('x-bot-bottle-egress'), body: await r.text(),
  }))
  .catch((e) => ({ error: String(e) + ' / ' + String(e.cause) }))
  .then((out) => console.log(JSON.stringify(out)));
"""

CLIENTS = {
    "curl": None,  # agent_probes.curl
    "python urllib": lambda url: ["python3", "-c", URLLIB, url],
    "node fetch": lambda url: ["node", "-e", NODE, url],
}


@pytest.fixture(scope="module")
def node_bottle(bottle_env, docker_client):
    with launched_bottle(bottle_env, docker_client, agent="nodeprobe") as bottle:
        yield bottle


def ask(bottle, client: str, url: str) -> dict:
    if client == "curl":
        r = curl(bottle.agent, q(url))
        return {"status": r.status, "egress": r.egress, "body": r.body, "exit": r.exit}
    result = bottle.agent.exec_run(CLIENTS[client](url))  # as the agent
    text = result.output.decode("utf-8", "replace").strip()
    try:
        return json.loads(text.splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError(f"{client}: {text}") from None


def test_the_clients_run_as_the_agent_with_the_bottles_proxy_and_ca(node_bottle):
    env = node_bottle.agent.exec_run(["sh", "-c", "id -u; node --version; env"]).output.decode()
    uid, version, *rest = env.splitlines()
    assert uid != "0" and version.startswith("v18."), env
    assert any(line.startswith("HTTPS_PROXY=http://") for line in rest), env
    assert any(line.startswith("NODE_EXTRA_CA_CERTS=/") for line in rest), env


@pytest.mark.parametrize("client", CLIENTS)
def test_a_routed_request_goes_through_in_every_client(node_bottle, upstream, client):
    out = ask(node_bottle, client, f"https://other.example.test/{uuid.uuid4().hex}")
    assert out.get("status") == 200 and not out.get("egress"), out


@pytest.mark.parametrize("client", CLIENTS)
def test_an_unrouted_host_is_explained_in_every_client(node_bottle, upstream, client):
    label = f"unrouted-{uuid.uuid4().hex[:16]}"
    host = f"{label}.example.test"
    quiet = Quiet(upstream, node_bottle.sidecars)
    out = ask(node_bottle, client, f"https://{host}/repos/x")
    assert out.get("status") == 403 and out.get("egress") == "denied", out
    assert out["body"].startswith(DENIED), out
    assert f"no route for host {host}" in out["body"], out
    assert f'egress-block tool with host="{host}"' in out["body"], out
    quiet.check()
    assert not [q for q in dns_queries(upstream) if label in (q["name"] or "").lower()]


@pytest.mark.parametrize("client", CLIENTS)
def test_an_unlisted_port_is_explained_in_every_client(node_bottle, upstream, client):
    quiet = Quiet(upstream, node_bottle.sidecars)
    out = ask(node_bottle, client, f"https://other.example.test:8443/{uuid.uuid4().hex}")
    assert out.get("status") == 403 and out.get("egress") == "denied", out
    assert "port 8443 is not routed for host other.example.test" in out["body"], out
    quiet.check()


@pytest.mark.parametrize("client", CLIENTS)
def test_a_name_that_does_not_resolve_is_explained_in_every_client(node_bottle, upstream, client):
    quiet = Quiet(upstream, node_bottle.sidecars)
    out = ask(node_bottle, client, f"https://{NX_NAME}/{uuid.uuid4().hex}")
    assert out.get("status") == 502 and out.get("egress") == "failed", out
    assert out["body"].startswith(FAILED), out
    assert f"Host: {NX_NAME}" in out["body"] and "does not resolve" in out["body"], out
    quiet.check()

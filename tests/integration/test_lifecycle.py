"""State across restarts, reconciliation with Docker, Docker outages, TTL."""
import json
import time

from harness import Petri, check, docker


def test_restart_keeps_state_own():
    p = Petri().start()
    try:
        sb = p.sandbox("python")
        check(p.upload(sb, [("keep.txt", b"persist")]).status == 201)
        p.exec(sb, command="echo hi")
        p.restart()
        r = p.request("GET", "/v1/sandboxes/" + sb["id"])
        check(r.status == 200, r)
        d = p.exec(sb, command="cat keep.txt").json()
        check(d["stdout"] == "persist", d)
        check(len(p.request("GET", "/v1/sandboxes/%s/execs" % sb["id"]).json()["execs"]) == 2)
    finally:
        p.cleanup()


def test_reconcile_orphans_own():
    p = Petri().start()
    stranger = None
    try:
        sb = p.sandbox("python")
        # an orphan of ours: labelled with our instance, unknown sandbox
        st, c = docker("POST", "/containers/create", {
            "Image": "petri/python:current", "Cmd": ["sleep", "300"],
            "Labels": {"petri.instance": p.instance, "petri.sandbox": "sb_" + "a" * 24,
                       "petri.kind": "sandbox"}})
        check(st == 201, c)
        orphan = c["Id"]
        # a stranger's container: no label of ours
        st, c = docker("POST", "/containers/create", {"Image": "petri/python:current",
                                                      "Cmd": ["sleep", "300"],
                                                      "Labels": {"someone.else": "1"}})
        stranger = c["Id"]
        # the sandbox's container disappears behind our back
        st, lst = docker("GET", '/containers/json?all=1&filters=' +
                         '%7B%22label%22%3A%5B%22petri.sandbox%3D' + sb["id"] + '%22%5D%7D')
        docker("DELETE", "/containers/%s?force=1" % lst[0]["Id"])
        p.restart()
        st, _ = docker("GET", "/containers/%s/json" % orphan)
        check(st == 404, "orphan was not removed")
        st, _ = docker("GET", "/containers/%s/json" % stranger)
        check(st == 200, "a stranger's container was touched")
        d = p.exec(sb, command="echo back").json()
        check(d["stdout"] == "back\n", d)
    finally:
        if stranger:
            docker("DELETE", "/containers/%s?force=1" % stranger)
        p.cleanup()


def test_docker_down_own():
    p = Petri(relay=True).start()
    try:
        sb = p.sandbox("python")
        p.relay.stop()
        r = p.exec(sb, command="echo x")
        check(r.status == 503 and r.json()["error"]["code"] == "unavailable", r)
        check(p.request("GET", "/readyz", token=None).status == 503)
        r = p.request("POST", "/v1/sandboxes", {"language": "python"})
        check(r.status == 503, r)
        check(p.request("GET", "/healthz", token=None).status == 200)
        p.relay.start()
        time.sleep(0.5)
        check(p.request("GET", "/readyz", token=None).status == 200)
        d = p.exec(sb, command="echo x").json()
        check(d["stdout"] == "x\n", d)
    finally:
        p.cleanup()


def test_ttl_reaper_own():
    p = Petri().start()
    try:
        sb = p.sandbox("python", ttl_seconds=10)
        keep = p.sandbox("python", ttl_seconds=600)
        for _ in range(60):
            if p.request("GET", "/v1/sandboxes/" + sb["id"]).status == 404:
                break
            time.sleep(0.5)
        check(p.request("GET", "/v1/sandboxes/" + sb["id"]).status == 404, "not reaped")
        check(p.request("GET", "/v1/sandboxes/" + keep["id"]).status == 200)
        recs = p.request("GET", "/v1/audit/records?from=0&limit=1000").json()["records"]
        types = [json.loads(r["record"])["type"] for r in recs]
        check("sandbox.expired" in types, types)
    finally:
        p.cleanup()

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
        check(p.exec(sb, command="true").json()["path"] == "supervisor")
        p.relay.stop()
        # a running sandbox's supervisor needs no Docker; what does, fails
        d = p.exec(sb, command="echo x").json()
        check(d["stdout"] == "x\n" and d["path"] == "supervisor", d)
        r = p.exec(sb, command="echo x", fresh=True)
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


def test_warm_pool_own():
    p = Petri(config={"pool": {"python": 2, "node": 1}}).start()
    try:
        for _ in range(100):
            m = p.request("GET", "/metrics", token=None).body.decode()
            if "petri_sandboxes_warm 3" in m:
                break
            time.sleep(0.2)
        check("petri_sandboxes_warm 3" in m, "pool not filled")
        check("petri_sandboxes 0" in m, m)
        # the pool is nobody's: not listed, not usable
        check(p.request("GET", "/v1/sandboxes").json()["sandboxes"] == [])
        check(p.request("POST", "/v1/keys", {"role": "agent", "tenant": "__pool__"}).status == 422)
        a = p.sandbox("python", labels={"k": "v"}, limits={"memory_mb": 256, "pids": 100})
        b = p.sandbox("python")
        for sb in (a, b):
            d = p.exec(sb, command="echo hi; cat /sys/fs/cgroup/pids.max 2>/dev/null || "
                                   "cat /sys/fs/cgroup/pids/pids.max").json()
            check(d["stdout"].startswith("hi\n"), d)
        d = p.exec(a, command="cat /sys/fs/cgroup/pids.max 2>/dev/null || "
                              "cat /sys/fs/cgroup/pids/pids.max").json()
        check(d["stdout"].strip() == "100", "claimed sandbox kept the pool's limits: %r" % d)
        check(a["id"] != b["id"] and a["labels"] == {"k": "v"}, (a, b))
        recs = p.request("GET", "/v1/audit/records?from=0&limit=1000").json()["records"]
        created = [json.loads(r["record"]) for r in recs]
        created = [r for r in created if r["type"] == "sandbox.created"]
        check(any(r["pooled"] for r in created) and all(r["tenant"] == "default" for r in created),
              created)
        # refilled behind the claims
        for _ in range(150):
            if "petri_sandboxes_warm 3" in p.request("GET", "/metrics", token=None).body.decode():
                break
            time.sleep(0.2)
        check("petri_sandboxes_warm 3" in p.request("GET", "/metrics", token=None).body.decode())
        # other shapes are made new
        c = p.sandbox("python", limits={"disk_mb": 64})
        check(p.exec(c, command="df -m /sandbox | tail -1").json()["exit_code"] == 0)
    finally:
        p.cleanup()

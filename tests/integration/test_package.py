"""The Debian package for real (issue 14): `make deb`, installed in a
container running systemd as PID 1 (tests/deb/image.sh, cached by recipe
hash), started as petri.service (Type=notify) against the host's Docker
engine; it answers /readyz, keeps its sandbox and its log across
`systemctl restart`, and `apt-get purge` removes the containers, network
and host rules it created.

The container shares the host's network (petrid's INPUT rules are the
host's) and one host directory at the same path (the data directory and
the helpers: the host's engine bind-mounts them into sandboxes by path).
"""
import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid

from harness import BUILD, ROOT, check, docker, drop_bridge_rules, free_port, _q


def sh(*args, input=None, timeout=300, ok=True):
    r = subprocess.run(list(args), input=input, capture_output=True, text=True, timeout=timeout)
    if ok:
        check(r.returncode == 0, "%s: %s%s" % (" ".join(args), r.stdout[-3000:], r.stderr[-3000:]))
    return r


def http(port, method, path, token=None, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""


def wait_ready(port, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        if http(port, "GET", "/readyz")[0] == 200:
            return
        time.sleep(0.2)
    raise AssertionError("petrid did not become ready on port %d" % port)


def labelled(kind, instance):
    path = ("/containers/json?all=1&filters=" if kind == "containers" else "/networks?filters=")
    st, lst = docker("GET", path + _q(json.dumps({"label": ["petri.instance=%s" % instance]})))
    check(st == 200, (st, lst))
    return lst


def test_debian_package_own():
    t0 = time.time()
    sh(os.path.join(ROOT, "packaging", "debian", "build.sh"), timeout=600)
    debs = sorted(glob.glob(os.path.join(ROOT, "build", "petri_*.deb")))
    check(debs, "no .deb in build/")
    deb = debs[-1]
    ref = sh(os.path.join(ROOT, "tests", "deb", "image.sh"), timeout=900).stdout.strip()
    os.makedirs("/srv", exist_ok=True)
    shared = tempfile.mkdtemp(prefix="petri-deb-", dir="/srv")
    os.chmod(shared, 0o755)
    tag = uuid.uuid4().hex[:10]
    name, net, port = "petri-deb-test-" + tag, "petri-deb-" + tag, free_port()
    instance = None
    cfg = {"listen": "127.0.0.1:%d" % port, "data_dir": shared + "/data",
           "helpers_dir": shared + "/helpers", "network": net, "pool": {},
           "reaper_interval_seconds": 1}
    try:
        # privileged, but for what this host's engine cannot grant
        # (CAP_SYS_RESOURCE); the host's /dev for loop devices
        sh("docker", "run", "-d", "--name", name, "--cap-add", "ALL",
           "--cap-drop", "SYS_RESOURCE", "--security-opt", "seccomp=unconfined",
           "--security-opt", "apparmor=unconfined", "--cgroupns", "host",
           "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "-v", "/dev:/dev",
           "--device-cgroup-rule", "b 7:* rmw", "--device-cgroup-rule", "c 10:237 rmw",
           "--network", "host", "--tmpfs", "/run", "--tmpfs", "/run/lock",
           "-v", "/var/run/docker.sock:/var/run/docker.sock",
           "-v", "%s:%s" % (shared, shared), "-v", "%s:/tmp/petri.deb:ro" % deb, ref)

        def ex(*cmd, **kw):
            return sh("docker", "exec", "-i", name, *cmd, **kw)

        end = time.time() + 60
        while time.time() < end:
            st = ex("systemctl", "is-system-running", ok=False).stdout.strip()
            if st in ("running", "degraded"):
                break
            time.sleep(0.3)
        check(st in ("running", "degraded"), "systemd did not come up: %s" % st)
        # the engine's group must own the host's socket
        gid = os.stat("/var/run/docker.sock").st_gid
        ex("groupmod", "-o", "-g", str(gid), "docker")
        ex("mkdir", "-p", "/etc/petri", "/etc/systemd/system/petri.service.d")
        ex("sh", "-c", "cat > /etc/petri/petri.json", input=json.dumps(cfg))
        ex("sh", "-c", "cat > /etc/systemd/system/petri.service.d/test.conf",
           input="[Service]\nReadWritePaths=%s\n" % shared)
        # installed, not started yet: the helpers go where the host's
        # engine finds them first
        ex("sh", "-c", "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && "
                       "chmod 0755 /usr/sbin/policy-rc.d")
        r = ex("dpkg", "-i", "--force-confold", "/tmp/petri.deb")
        check("sandbox images missing" not in r.stdout, r.stdout)  # the host has them
        ex("sh", "-c", "test -f /usr/bin/petrid && test -f /usr/lib/petri/petri-spawn && "
                       "test -f /usr/lib/petri/petri-init && test -f /usr/bin/petri-witness && "
                       "test -f /usr/share/man/man8/petrid.8.gz && "
                       "id _petri_api && id _petri_eng && id -u _petri_sb | grep -qx 61000")
        ex("sh", "-c", "mkdir -p %s/helpers && cp -a /usr/lib/petri/. %s/helpers/ && "
                       "rm /usr/sbin/policy-rc.d" % (shared, shared))
        ex("systemctl", "daemon-reload")
        ex("systemctl", "start", "petri")  # Type=notify: returns once READY=1
        show = ex("systemctl", "show", "petri", "-p", "Type", "-p", "ActiveState",
                  "-p", "ProtectSystem", "-p", "NoNewPrivileges").stdout
        check("Type=notify" in show and "ActiveState=active" in show and
              "ProtectSystem=strict" in show and "NoNewPrivileges=yes" in show, show)
        wait_ready(port)
        with open(os.path.join(shared, "data", "admin.token")) as f:
            token = f.read().strip()
        with open(os.path.join(shared, "data", "instance")) as f:
            instance = f.read().strip()
        st, body = http(port, "POST", "/v1/sandboxes", token, {"language": "python"})
        check(st == 201, (st, body, ex("journalctl", "-u", "petri", "--no-pager", "-o", "cat",
                                       ok=False).stdout[-3000:]))
        sb = json.loads(body)["id"]
        st, body = http(port, "POST", "/v1/sandboxes/%s/exec" % sb, token,
                        {"command": "echo before-restart"})
        check(st == 200 and json.loads(body)["stdout"] == "before-restart\n", body)
        seq1 = json.loads(body)["audit"]["seq"]
        check(len(labelled("containers", instance)) == 1)
        nets = labelled("networks", instance)
        check(len(nets) == 1 and nets[0]["Name"] == net, nets)
        bridge = " -i br-%s " % nets[0]["Id"][:12]
        check(bridge in sh("iptables", "-w", "-S", "INPUT").stdout + " ", "no host rule")
        # restart: the sandbox and the log carry on
        ex("systemctl", "restart", "petri")
        wait_ready(port)
        st, body = http(port, "POST", "/v1/sandboxes/%s/exec" % sb, token,
                        {"command": "echo after-restart"})
        check(st == 200 and json.loads(body)["stdout"] == "after-restart\n", body)
        check(json.loads(body)["audit"]["seq"] > seq1, body)
        st, bundle = http(port, "GET", "/v1/audit/export", token)
        check(st == 200, st)
        st, pk = http(port, "GET", "/v1/audit/public-key", token)
        path = os.path.join(shared, "bundle.tar")
        with open(path, "wb") as f:
            f.write(bundle)
        v = sh(os.path.join(BUILD, "petri-verify"), path, "--key", json.loads(pk)["vkey"], ok=False)
        check(v.returncode == 0, v.stdout + v.stderr)
        log = ex("journalctl", "-u", "petri", "--no-pager", "-o", "cat").stdout
        check("api ready" in log and "shutting down" in log, log[-2000:])
        # purge: nothing of the instance stays in Docker or on the host
        ex("apt-get", "purge", "-y", "petri")
        check(labelled("containers", instance) == [], labelled("containers", instance))
        check(labelled("networks", instance) == [], labelled("networks", instance))
        rules = sh("iptables", "-w", "-S", "INPUT").stdout
        check(bridge not in rules.replace("\n", " \n"), rules)
        gone = ex("sh", "-c", "test ! -e /usr/bin/petrid && test ! -e /etc/petri && "
                              "test ! -e /lib/systemd/system/petri.service", ok=False)
        check(gone.returncode == 0, gone.stdout + gone.stderr)
        took = time.time() - t0
        print("package scenario: %.0f s" % took)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        if instance:
            for c in labelled("containers", instance):
                docker("DELETE", "/containers/%s?force=1&v=1" % c["Id"])
        drop_bridge_rules(net)
        docker("DELETE", "/networks/%s" % net)
        subprocess.run(["umount", "-R", "-l", shared], capture_output=True)
        shutil.rmtree(shared, ignore_errors=True)


def test_compose_config_own():
    """packaging/compose/compose.yaml is a valid compose file and says what
    it must: the host's socket, privileged, host network, the shared data
    directory with rshared propagation."""
    env = dict(os.environ, PETRI_BASE="petri-test/systemd:x", PETRI_DEB="petri.deb")
    r = subprocess.run(["docker-compose", "-f", os.path.join(ROOT, "packaging", "compose",
                                                             "compose.yaml"), "config"],
                       capture_output=True, text=True, env=env, timeout=60)
    check(r.returncode == 0, r.stdout + r.stderr)
    out = r.stdout
    for want in ("privileged: true", "network_mode: host", "/var/run/docker.sock",
                 "propagation: rshared", "target: /var/lib/petri-compose",
                 "PETRI_BASE: petri-test/systemd:x"):
        check(want in out, (want, out))
    # without the base image named, it refuses
    env.pop("PETRI_BASE")
    r = subprocess.run(["docker-compose", "-f", os.path.join(ROOT, "packaging", "compose",
                                                             "compose.yaml"), "config"],
                       capture_output=True, text=True, env=env, timeout=60)
    check(r.returncode != 0 and "PETRI_BASE" in r.stdout + r.stderr, r)
    with open(os.path.join(ROOT, "packaging", "compose", "petri.json")) as f:
        cfg = json.load(f)
    check(cfg["data_dir"].startswith("/var/lib/petri-compose/") and
          cfg["listen"].startswith("127.0.0.1:"), cfg)

#!/usr/bin/env python3
"""Structural checks of packaging/kubernetes/*.yaml (no cluster needed):
every document parses and names its kind and namespace; the sandbox pod
carries the hardening docs/scale-out.md promises; the network policies
leave the proxy as the sandboxes' only destination.  Ends with
"manifests: N passed, N failed"."""
import glob
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMESPACED = {"Deployment", "DaemonSet", "Service", "NetworkPolicy", "Pod",
              "ServiceAccount", "Role", "RoleBinding"}
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("PASS %s" % name)
    else:
        failed += 1
        print("FAIL %s %s" % (name, detail))


def load():
    docs = []
    for path in sorted(glob.glob(os.path.join(ROOT, "packaging/kubernetes/*.yaml"))):
        with open(path) as f:
            for d in yaml.safe_load_all(f):
                if d is not None:
                    docs.append((os.path.basename(path), d))
    return docs


def sandbox_pod(spec):
    """The list of hardening properties a sandbox pod spec lacks."""
    bad = []
    psc = spec.get("securityContext", {})
    if spec.get("automountServiceAccountToken") is not False:
        bad.append("automountServiceAccountToken")
    if not spec.get("runtimeClassName"):
        bad.append("runtimeClassName")
    for k in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(k):
            bad.append(k)
    if psc.get("runAsNonRoot") is not True or psc.get("runAsUser") in (None, 0):
        bad.append("runAsNonRoot/runAsUser")
    if psc.get("seccompProfile", {}).get("type") not in ("RuntimeDefault", "Localhost"):
        bad.append("seccompProfile")
    if spec.get("dnsPolicy") != "None":
        bad.append("dnsPolicy")
    ro_mounts = set()
    for c in spec.get("containers", []):
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False:
            bad.append(c["name"] + ".allowPrivilegeEscalation")
        if sc.get("readOnlyRootFilesystem") is not True:
            bad.append(c["name"] + ".readOnlyRootFilesystem")
        if sc.get("privileged"):
            bad.append(c["name"] + ".privileged")
        if sc.get("capabilities", {}).get("drop") != ["ALL"] or \
                sc.get("capabilities", {}).get("add"):
            bad.append(c["name"] + ".capabilities")
        if "memory" not in c.get("resources", {}).get("limits", {}):
            bad.append(c["name"] + ".limits.memory")
        for m in c.get("volumeMounts", []):
            if m.get("readOnly"):
                ro_mounts.add(m["name"])
    for v in spec.get("volumes", []):
        if "hostPath" in v and v["name"] not in ro_mounts:
            bad.append("hostPath volume %s is writable" % v["name"])
    return bad


def main():
    docs = load()
    check("manifests parse", len(docs) > 0)
    for f, d in docs:
        name = "%s %s/%s" % (f, d.get("kind"), d.get("metadata", {}).get("name"))
        ok = bool(d.get("apiVersion")) and bool(d.get("kind")) and \
            bool(d.get("metadata", {}).get("name"))
        if d.get("kind") in NAMESPACED:
            ok = ok and d["metadata"].get("namespace") == "petri"
        check(name + " is well-formed", ok, d.get("metadata"))
    pods = [d for _, d in docs if d.get("kind") == "Pod" and
            d["metadata"].get("labels", {}).get("petri.role") == "sandbox"]
    check("a sandbox pod shape exists", len(pods) == 1)
    for p in pods:
        bad = sandbox_pod(p["spec"])
        check("sandbox pod hardening", not bad, bad)
    # the checker itself must refuse a weakened pod
    if pods:
        weak = yaml.safe_load(yaml.safe_dump(pods[0]["spec"]))
        weak["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
        weak["automountServiceAccountToken"] = True
        check("a weakened sandbox pod is refused", len(sandbox_pod(weak)) == 2)
    pols = {d["metadata"]["name"]: d["spec"] for _, d in docs
            if d.get("kind") == "NetworkPolicy"}
    dd = pols.get("default-deny", {})
    check("default deny for the namespace",
          dd.get("podSelector") == {} and set(dd.get("policyTypes", [])) ==
          {"Ingress", "Egress"} and not dd.get("ingress") and not dd.get("egress"))
    sb = pols.get("sandbox-only-proxy", {})
    eg = sb.get("egress", [])
    ok = sb.get("podSelector", {}).get("matchLabels") == {"petri.role": "sandbox"} \
        and len(eg) == 1 and eg[0].get("ports") == [{"protocol": "TCP", "port": 3128}] \
        and eg[0].get("to") == [{"podSelector": {"matchLabels": {"petri.role": "node-agent"}}}]
    check("sandboxes reach only the proxy port", ok, eg)
    print("manifests: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

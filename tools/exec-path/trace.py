"""trace.py ROOT OUT: the path one execution takes through the api.

Starts a petrid of ROOT's $BUILD through the integration harness, makes a
sandbox (and runs one execution to warm it), attaches gdb to its api
process with a breakpoint on every function of appliance/api and
appliance/common, runs one execution ({"command": "echo hi"}), and writes
each hit as "thread file function" to OUT.  stops.py reads OUT.

Build without inlining first, or static functions do not show:
  make BUILD=build/trace CFLAGS="-O1 -g -fno-inline -fno-inline-small-functions \
    -fno-inline-functions-called-once -fno-optimize-sibling-calls \
    -Wno-format-truncation" all
  sudo BUILD=build/trace python3 tools/exec-path/trace.py . /tmp/hits
  python3 tools/exec-path/stops.py /tmp/hits api_http.c,api_exec.c,...
Needs gdb and the rights to attach to petrid's api process (root)."""
import json, os, subprocess, sys, time, glob

root, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(root, "tests", "integration"))
import harness  # noqa: E402

p = harness.Petri()
p.start()
try:
    r = p.request("POST", "/v1/sandboxes", {"language": "python"})
    sb = r.json()["id"]
    # warm-up: the first exec of a sandbox does more (install step)
    p.request("POST", "/v1/sandboxes/%s/exec" % sb, {"command": "echo warm"})
    api = subprocess.run(["pgrep", "-P", str(p.proc.pid), "-f", "--",
                          "--proc api"],
                         capture_output=True, text=True).stdout.split()[0]
    files = sorted(glob.glob(os.path.join(root, "appliance/api/*.c")) +
                   glob.glob(os.path.join(root, "appliance/common/*.c")))
    cmds = ["set pagination off", "set confirm off", "set breakpoint pending off"]
    for f in files:
        cmds.append("rbreak %s:." % os.path.basename(f))
    cmds += ["info breakpoints"]
    gdbscript = os.path.join(os.path.dirname(out), "gdb.cmd")
    with open(gdbscript, "w") as g:
        g.write("\n".join(cmds) + "\n")
        # every hit: where, then go on
        g.write("python\n"
                "import gdb\n"
                "log = open(%r, 'w')\n"
                "def log_hit():\n"
                "    f = gdb.selected_frame()\n"
                "    sal = f.find_sal()\n"
                "    log.write('%%d %%s %%s\\n' %% (gdb.selected_thread().num,\n"
                "        sal.symtab.filename if sal.symtab else '?', f.name()))\n"
                "    log.flush()\n"
                "for bp in gdb.breakpoints():\n"
                "    bp.commands = 'silent\\npython log_hit()\\ncontinue'\n"
                "end\n" % out)
        g.write("continue\n")
    dbg = subprocess.Popen(["gdb", "-q", "-nx", "-p", api, "-x", gdbscript],
                           stdin=subprocess.DEVNULL, stdout=open(out + ".gdb", "w"),
                           stderr=subprocess.STDOUT)
    time.sleep(25)  # let gdb set its breakpoints
    t0 = time.time()
    r = p.request("POST", "/v1/sandboxes/%s/exec" % sb, {"command": "echo hi"},
              timeout=600)
    print("exec", r.status, round(time.time() - t0, 1), "s")
    time.sleep(5)
    dbg.send_signal(2)
    time.sleep(2)
    dbg.kill()
    dbg.wait()
finally:
    p.stop()

"""stops.py HITS [HANDLER_FILES]: the path of one request (its connection
thread, then the runner thread it starts; trace.py wrote HITS) as a
sequence of files: stops (runs of calls in one file), distinct files, and
returns to a file the path had left; with HANDLER_FILES (comma-separated)
also the path seen at the level of the files that hold route handlers."""
import sys

hits = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 3]
lib = {"util.c", "buf.c", "log.c", "petri_err.c"}
# the request's thread: the one that runs api_exec; the runner: run_main
def thread_of(fn):
    for t, f, n in hits:
        if n == fn:
            return t
req, run = thread_of("api_exec"), thread_of("run_main")
for label, skip in (("all files", set()), ("without util/buf/log", lib)):
    seq = []
    for t, f, n in hits:
        if t not in (req, run):
            continue
        f = f.split("/")[-1]
        if f in skip:
            continue
        seq.append((t, f))
    for name, threads in (("request+runner", (req, run)),):
        files = [f for t, f in seq if t in threads]
        stops = [f for i, f in enumerate(files) if i == 0 or files[i - 1] != f]
        seen, returns = set(), 0
        for f in stops:
            if f in seen:
                returns += 1
            seen.add(f)
        print("%-22s %s: %d stops in %d files, %d returns to a file left" %
              (label, name, len(stops), len(seen), returns))
        if label != "all files":
            print("   ", " > ".join(stops))

# the same path seen at the handler level: files that hold route handlers
handlers = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else set()
if handlers:
    files = [t_f[1] for t_f in seq]
    hs = [f for f in files if f in handlers]
    hstops = [f for i, f in enumerate(hs) if i == 0 or hs[i - 1] != f]
    seen, returns = set(), 0
    for f in hstops:
        returns += f in seen
        seen.add(f)
    print("handler files on the path: %d stops in %d files, %d returns: %s" %
          (len(hstops), len(seen), returns, " > ".join(hstops)))
    # returns per file
    stops = [f for i, f in enumerate(files) if i == 0 or files[i - 1] != f]
    from collections import Counter
    c = Counter(stops)
    print("stops per file:", ", ".join("%s %d" % kv for kv in c.most_common()))

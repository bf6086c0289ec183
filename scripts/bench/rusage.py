#!/usr/bin/env python3
"""Run a command and report what it cost: rusage.py OUT.json -- CMD ARGS...

os.wait4 gives the resource usage of exactly that child (peak RSS, user and system CPU), which
neither Node nor the shell reports for a child process. Exit code: the command's.
"""
import json
import os
import sys
import time

out, sep, *command = sys.argv[1:]
assert sep == "--" and command, __doc__
start = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execvp(command[0], command)
_, status, usage = os.wait4(pid, 0)
wall = time.monotonic() - start
with open(out, "w") as f:
    json.dump({"wall": wall, "maxRssKb": usage.ru_maxrss, "user": usage.ru_utime, "sys": usage.ru_stime,
               "code": os.waitstatus_to_exitcode(status)}, f)
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)

"""Run one command and write its wall time, peak RSS and CPU to a file.

    python -I -S spawn.py RESULT_FILE COMMAND [ARG...]

Why a launcher: Linux carries a process's peak RSS across ``exec``, and a
child spawned by a big process (the benchmark driver, with its servers)
starts from the driver's own high-water mark, so ``ru_maxrss`` would report
the driver, not the command. Spawned from this small launcher instead, a
command's figure is its own, with a floor of the launcher's ~9 MiB (below
which it is the floor, not the command). The launcher's own start-up is not
in the wall time.
"""

import os
import sys
import time


def main() -> int:
    result, argv = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(result, "w") as out:
        cpu = usage.ru_utime + usage.ru_stime
        out.write(f"{wall} {usage.ru_maxrss} {cpu} {code} {usage.ru_stime}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

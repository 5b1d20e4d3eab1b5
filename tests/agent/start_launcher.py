"""What a test's restart_tv_command runs: start a launcher in the background, note its pid, exit 0.

Like `systemctl restart`, it returns once the service is started, not when it ends.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main(config: str, pid_file: str, log_file: str) -> int:
    with open(log_file, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "piclient", "tv", "--config", config],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    Path(pid_file).write_text(str(process.pid), encoding="ascii")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))

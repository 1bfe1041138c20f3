"""Runs a command on a pseudo-terminal and answers one prompt, for tests of interactive commands.

    pty_run.py PROMPT ANSWER COMMAND [ARGS...]

Waits until the command's output contains PROMPT, types ANSWER and a newline, then copies the rest
of the output. Prints everything the terminal showed and exits with the command's exit status
(128 + the signal if it was killed). Gives up after 60 seconds.
"""
import os
import select
import sys
import time


def main():
    prompt, answer, command = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3:]
    pid, fd = os.forkpty()
    if pid == 0:
        os.execvp(command[0], command)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the command closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        if not answered and prompt in seen:
            os.write(fd, answer + b"\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(seen.decode(errors="replace"))
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())

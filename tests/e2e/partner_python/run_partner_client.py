"""The ctest harness of partner_client.py: starts the dev broker and the intake binary (free
loopback ports, a temporary directory), runs the partner client against it, and stops both.

  run_partner_client.py --devbroker PATH --intake PATH --stubs DIR
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

WAIT_S = 20


def wait_for(predicate, what, process, log_path):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if process.poll() is not None:
            break
        time.sleep(0.05)
    with open(log_path, errors="replace") as log:
        sys.stderr.write(log.read())
    raise SystemExit("harness: %s did not appear" % what)


def read_file(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def value_after(path, name):
    for line in read_file(path).splitlines():
        if line.startswith(name + " "):
            return line.split(" ", 1)[1].strip()
    return ""


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout=5)
    return process.returncode


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--devbroker", required=True)
    parser.add_argument("--intake", required=True)
    parser.add_argument("--stubs", required=True)
    args = parser.parse_args()
    sys.path.insert(0, args.stubs)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import partner_client

    with tempfile.TemporaryDirectory(prefix="partner-python-") as tmp:
        path = lambda name: os.path.join(tmp, name)
        with open(path("pseudonym.key"), "w") as f:
            f.write("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n")
        with open(path("master.key"), "w") as f:
            f.write("f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101\n")
        processes = []
        try:
            with open(path("broker.log"), "w") as log:
                broker = subprocess.Popen(
                    [args.devbroker, "--bootstrap-file=" + path("bootstrap")],
                    stdout=subprocess.DEVNULL, stderr=log)
            processes.append(broker)
            bootstrap = wait_for(lambda: read_file(path("bootstrap")).strip(), "bootstrap file",
                                 broker, path("broker.log"))
            env = dict(os.environ, CLAIMS_BUSINESS_DATE="2024-06-01")
            with open(path("intake.out"), "w") as out, open(path("intake.log"), "w") as log:
                intake = subprocess.Popen(
                    [args.intake, "--bootstrap-servers", bootstrap, "--listen", "127.0.0.1:0",
                     "--metrics-listen", "127.0.0.1:0", "--data-dir", path("data"),
                     "--pseudonym-key-file", path("pseudonym.key"),
                     "--master-key-file", path("master.key"), "--insecure-dev"],
                    stdout=out, stderr=log, env=env)
            processes.append(intake)
            port = wait_for(lambda: value_after(path("intake.out"), "grpc-port"), "grpc-port",
                            intake, path("intake.log"))
            partner_client.run("127.0.0.1:" + port)
            code = stop(intake)
            if code != 0:
                raise SystemExit("harness: intake exited with %d on SIGTERM" % code)
            print("partner client: all checks passed")
        finally:
            for process in reversed(processes):
                stop(process)


if __name__ == "__main__":
    main()

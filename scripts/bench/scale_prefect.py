"""The peer of `npm run bench:scale`: Prefect's per-step orchestration overhead, in both its modes.

Run by scripts/bench/scale.ts with the venv of scripts/bench/setup-prefect.sh; prints one JSON
object on its last line. Everything runs on this machine, against a `prefect server start` that this
script starts on a free loopback port with its own PREFECT_HOME (SQLite), and stops at the end.

Modes, named for what they are:
  in-process  tasks called inside one flow run, in this Python process. Task states are reported
              to the server, but a step is not durable: if the process dies the flow run is lost
              and nothing resumes it at the step where it was.
  durable     each step is its own flow run of a deployment on a `process` work pool, picked up by a
              `prefect worker` (a separate process) that starts a process per flow run. A step
              survives the loss of the driver; this is the mode comparable to a Temporal activity.

Per-step overhead = wall time of the step minus the step's own work. The work is the same trivial
function in both modes (sha256 of 1 KiB, timed inside the step where the mode allows it):
  in-process  the driver times the task call; the task times its work; overhead = call - work.
  durable     from the server's own timestamps: flow run created (run_deployment's request) to the
              flow run's Completed state, minus the work (timed in this process: microseconds).
              The driver's polling for completion (poll_interval) is left out, in Prefect's favour.

Tuning given to Prefect, in its favour: PREFECT_WORKER_QUERY_SECONDS=1 (default 10), so the worker
looks for scheduled runs every second instead of every ten; analytics and the UI off.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
POOL = "driftline-bench"
DEPLOYMENT = "scale-step"


def work() -> float:
    """The step's own work, identical in both modes; returns its duration in seconds."""
    started = time.perf_counter()
    hashlib.sha256(b"x" * 1024).hexdigest()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    # Prefect reads its settings when it is imported: point it at the server this script starts
    # before that. (The worker's flow-run processes import this file too; they keep their own env.)
    PORT = free_port()
    os.environ.update(
        {
            "PREFECT_API_URL": f"http://127.0.0.1:{PORT}/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
    )

from prefect import flow, task  # noqa: E402


@task
def step_task(i: int) -> float:
    return work()


@flow(name="in-process-chain")
def in_process_chain(steps: int) -> list[float]:
    overheads = []
    for i in range(steps):
        started = time.perf_counter()
        own = step_task(i)
        overheads.append((time.perf_counter() - started) - own)
    return overheads


@flow(name="scale-step")
def step_flow(i: int) -> float:
    return work()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def summary(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {
        "steps": len(ms),
        "medianMs": round(statistics.median(ms), 3),
        "p99Ms": round(percentile(ms, 99), 3),
        "meanMs": round(statistics.fmean(ms), 3),
        "maxMs": round(max(ms), 3),
    }


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with code {proc.returncode} while starting")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"prefect server did not answer {url}/health within {timeout:.0f}s")


def run_durable(steps: int, log) -> dict:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    step_flow.from_source(source=str(HERE), entrypoint=f"{Path(__file__).name}:step_flow").deploy(
        name=DEPLOYMENT, work_pool_name=POOL, print_next_steps=False
    )
    own = statistics.median(work() for _ in range(101))
    server_overheads, client_walls, startup = [], [], []
    for i in range(steps):
        called = time.perf_counter()
        run = run_deployment(name=f"scale-step/{DEPLOYMENT}", parameters={"i": i}, timeout=None, poll_interval=0.1)
        client_walls.append(time.perf_counter() - called)
        if run.state is None or not run.state.is_completed():
            raise RuntimeError(f"durable step {i} ended {run.state.type if run.state else 'without a state'}")
        with get_client(sync_client=True) as client:
            final = client.read_flow_run(run.id)
        end = final.end_time or final.state.timestamp
        server_overheads.append((end - final.created).total_seconds() - own)
        if final.start_time is not None:
            startup.append((final.start_time - final.created).total_seconds())
        log(f"durable step {i + 1}/{steps}: {server_overheads[-1] * 1000:.0f} ms")
    result = summary(server_overheads)
    result["clientWall"] = summary(client_walls)
    if startup:
        result["createdToRunning"] = summary(startup)
    result["ownWorkMs"] = round(own * 1000, 4)
    return result


def main() -> None:
    steps_in_process = int(os.environ.get("PREFECT_BENCH_IN_PROCESS_STEPS", "200"))
    steps_durable = int(os.environ.get("PREFECT_BENCH_DURABLE_STEPS", "30"))
    home = Path(os.environ["PREFECT_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    port = PORT
    api = os.environ["PREFECT_API_URL"]
    env = dict(os.environ)
    prefect = str(Path(sys.executable).parent / "prefect")

    def log(line: str) -> None:
        print(f"[prefect] {line}", file=sys.stderr, flush=True)

    server_log = open(home / "server.log", "ab")
    server = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=server_log, stderr=server_log)
    worker = None
    out: dict = {"prefect": None, "server": api, "settings": {"PREFECT_WORKER_QUERY_SECONDS": 1}}
    try:
        started = time.perf_counter()
        wait_healthy(api, server, 180)
        log(f"server ready at {api} in {time.perf_counter() - started:.1f}s")
        import prefect as prefect_module

        out["prefect"] = prefect_module.__version__

        # Mode 1: tasks inside one flow run (a warm-up run first, so imports are not counted).
        in_process_chain(5)
        out["inProcess"] = summary(in_process_chain(steps_in_process))
        log(f"in-process: median {out['inProcess']['medianMs']} ms over {steps_in_process} tasks")

        # Mode 2: each step a flow run through a process work pool and a worker.
        subprocess.run([prefect, "work-pool", "create", POOL, "--type", "process", "--overwrite"], env=env, check=True, capture_output=True)
        worker_log = open(home / "worker.log", "ab")
        worker = subprocess.Popen([prefect, "worker", "start", "--pool", POOL, "--type", "process"], env=env, stdout=worker_log, stderr=worker_log)
        out["durable"] = run_durable(steps_durable, log)
        log(f"durable: median {out['durable']['medianMs']} ms over {steps_durable} flow runs")
    except Exception as error:  # reported, not raised: the benchmark prints why Prefect could not run
        out["error"] = f"{type(error).__name__}: {error}"
    finally:
        for proc in (worker, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

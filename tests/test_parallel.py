"""Data-parallel training (engine.parallel): the choices unit-tested, then real torchrun launches of real
gloo process groups on this CPU, through the jobs a user starts: every variant in step, one writer, exact
resume, a stop that reaches every rank, a rank that dies, and two launchers meeting as two nodes."""

import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from gandash.core.config import TrainConfig, global_batch, lr_scale
from gandash.engine import checkpoints, parallel
from gandash.runs import jobs, lease
from gandash.runs.store import Store
from gandash.variants import registry
from gandash.variants.configure import make_config, validate
from tests.processes import ROOT, wait_for

# --- the choices -------------------------------------------------------------------------------------


def test_gradients_go_over_nccl_between_gpus_and_gloo_between_cpu_processes():
    assert parallel.backend_for("cuda") == "nccl" and parallel.backend_for("cpu") == "gloo"
    assert parallel.process_group_backend(cuda_available=True) == "cpu:gloo,cuda:nccl"
    assert parallel.process_group_backend(cuda_available=False) == "gloo"
    assert parallel.device_for("cuda", 3) == torch.device("cuda", 3)
    assert parallel.device_for("cpu", 3) == torch.device("cpu")
    team = parallel.Team(rank=1, world=2, local_rank=1, local_world=2)
    assert parallel.on_device(team, "cuda").backend == "nccl" and parallel.on_device(team, "cpu").backend == "gloo"
    assert parallel.on_device(parallel.SOLO, "cuda") is parallel.SOLO


@pytest.mark.parametrize(
    "cores, ranks, jobs_, threads", [(2, 2, 1, 1), (8, 2, 1, 4), (8, 3, 1, 2), (2, 4, 1, 1), (16, 2, 2, 4)]
)
def test_each_cpu_rank_gets_its_share_of_the_cores(cores, ranks, jobs_, threads):
    assert parallel.threads_per_rank(cores, ranks, jobs_) == threads


def test_each_rank_draws_its_own_noise_from_the_runs_seed_and_rank_0_keeps_the_seed():
    seeds = [parallel.rank_seed(7, rank) for rank in range(64)]
    assert seeds[0] == 7 and len(set(seeds)) == 64
    assert parallel.rank_seed(2**63 - 1, 5) < 2**63


def test_the_global_batch_and_the_learning_rate_rule_are_explicit():
    config = TrainConfig(batch_size=64, processes=4, nodes=2)
    assert global_batch(config) == 512
    assert (lr_scale("none", 8), lr_scale("linear", 8)) == (1.0, 8.0) and lr_scale("sqrt", 4) == 2.0
    # an epoch is counted in global batches
    assert TrainConfig(epochs=1, batch_size=100, processes=2, max_steps=None).total_steps == 300


def test_the_job_command_is_the_worker_or_torchrun_starting_it():
    run_dir = Path("/tmp/runs/r1")
    assert jobs.worker_command(TrainConfig(), run_dir) == [sys.executable, "-m", "gandash", "worker", str(run_dir)]
    local = jobs.worker_command(TrainConfig(processes=2), run_dir)
    assert local[1:6] == ["-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone"]
    assert local[-4:] == ["-m", "gandash", "worker", str(run_dir)]
    nodes = jobs.worker_command(TrainConfig(processes=2, nodes=3, node_rank=1, rdzv_endpoint="head:29400"), run_dir)
    assert "--standalone" not in nodes
    for flag, value in [
        ("--nnodes", "3"),
        ("--node-rank", "1"),
        ("--rdzv-endpoint", "head:29400"),
        ("--rdzv-id", "r1"),
    ]:
        assert nodes[nodes.index(flag) + 1] == value


def test_impossible_parallel_settings_are_refused_with_what_is_allowed():
    def problems(**changes) -> str:
        return " ".join(validate(replace(make_config("dcgan", "fashion-mnist"), **changes)))

    cores = len(os.sched_getaffinity(0))
    assert f"processes must be from 1 to {cores}: this machine has {cores} CPU core(s)" in problems(processes=cores + 1)
    assert "rdzv_endpoint HOST:PORT" in problems(nodes=2)
    assert "node_rank must be from 0 to nodes - 1 = 1" in problems(nodes=2, node_rank=2, rdzv_endpoint="h:1")
    assert "lr_scaling 'cube' is unknown" in problems(lr_scaling="cube")
    if not torch.cuda.is_available():
        assert "sync_batchnorm needs CUDA" in problems(sync_batchnorm=True)
    assert not problems(processes=min(2, cores), lr_scaling="sqrt")


# --- real process groups --------------------------------------------------------------------------

needs_two_cores = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="two training processes need two cores")
SMALL = dict(batch_size=16, width=8, log_every=1, sample_every=4, eval_samples=0, cpu_threads=1, cpu_precision="fp32")


def torchrun(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or dict(os.environ),
    )


@needs_two_cores
def test_every_variant_trains_data_parallel_with_its_replicas_in_step(tiny_fashion):
    """Two gloo ranks train each variant for 3 steps on different rows: afterwards G and D are bit-identical
    on both ranks, which holds only if DDP averaged every gradient (InfoGAN's Q head, LAPGAN's levels ...)."""
    names = list(registry.REGISTRY)
    result = torchrun("--standalone", "--nproc-per-node", "2", "-m", "tests.ddp_check", *names)
    assert result.returncode == 0, result.stderr[-3000:]
    reports = {r["variant"]: r for r in map(json.loads, filter(None, result.stdout.splitlines()))}
    assert set(reports) == set(names)
    for report in reports.values():
        assert report["status"] == "completed", report
        assert report["same_g"] and report["same_d"] and report["finite"], report
        assert report["disjoint_rows"], report


def wait_ended(store, run_id, timeout=240):
    return wait_for(
        lambda: store.run(run_id)["status"] not in ("queued", "starting", "running") and store.run(run_id)["status"],
        timeout=timeout,
        what=f"run {run_id} to end",
    )


def worker_pids(run_dir: Path) -> dict[int, int]:
    """{rank: pid} of the run's live worker processes (read from their torchrun environment)."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        argv = lease.command_line(int(proc.name)) or []
        if "worker" not in argv or str(run_dir) not in argv or "torch.distributed.run" in argv:
            continue
        try:
            environ = dict(
                item.split("=", 1) for item in (proc / "environ").read_bytes().decode().split("\0") if "=" in item
            )
        except OSError:
            continue
        if "RANK" in environ:
            found[int(environ["RANK"])] = int(proc.name)
    return found


def one_writer(store, run_id):
    steps = [row[0] for row in store.metrics(run_id, names=("loss_d",))]
    return len(steps) == len(set(steps)) and steps == sorted(steps)


@needs_two_cores
def test_a_two_process_job_stops_on_every_rank_and_resumes_bit_identically(tiny_fashion):
    """Stopped by the user at whatever step it reached, then resumed: the same weights, EMA and optimiser
    state as a run that trained straight to the same step."""
    store = Store()
    settings = dict(processes=2, checkpoint_every=8, lr_schedule="constant", **SMALL)
    run_id = jobs.create(make_config("dcgan", "fashion-mnist", max_steps=100_000, **settings), store)
    run_dir = Path(store.run(run_id)["run_dir"])
    wait_for(lambda: len(worker_pids(run_dir)) == 2 and store.run(run_id)["step"] >= 3, what="two ranks training")
    ranks = worker_pids(run_dir)
    assert jobs.stop(run_id, store) == "stopped"
    wait_for(lambda: not any(lease.start_time(pid) for pid in ranks.values()), timeout=30, what="every rank to end")
    stopped_at = store.run(run_id)["step"]
    assert checkpoints.step_of(checkpoints.listing(run_dir)[0]) == stopped_at  # written at the stop, by the writer
    jobs.resume(run_id, store, max_steps=stopped_at + 6)
    assert wait_ended(store, run_id) == "completed", store.run(run_id)["message"]
    assert one_writer(store, run_id)
    assert {v for _, n, v, _ in store.metrics(run_id, names=("processes",))} == {2.0}

    straight = jobs.create(make_config("dcgan", "fashion-mnist", max_steps=stopped_at + 6, **settings), store)
    assert wait_ended(store, straight) == "completed", store.run(straight)["message"]
    a, _ = checkpoints.latest(Path(store.run(straight)["run_dir"]))
    b, _ = checkpoints.latest(run_dir)
    assert a["step"] == b["step"] == stopped_at + 6
    for part in ("generator", "discriminator", "ema"):
        if a[part] is not None:
            assert all(torch.equal(a[part][key], b[part][key]) for key in a[part]), part
    assert a["opt_g"]["state"][0]["exp_avg"].equal(b["opt_g"]["state"][0]["exp_avg"])
    assert len(a["rng"]["ranks"]) == 2


@needs_two_cores
def test_a_rank_that_dies_ends_the_run_as_crashed_naming_it(tiny_fashion):
    store = Store()
    config = make_config("dcgan", "fashion-mnist", processes=2, max_steps=100_000, checkpoint_every=5, **SMALL)
    run_id = jobs.create(config, store)
    run_dir = Path(store.run(run_id)["run_dir"])
    wait_for(lambda: len(worker_pids(run_dir)) == 2 and store.run(run_id)["step"] >= 6, what="two ranks training")
    killed = 1 - _writer_rank(run_dir)
    pid = worker_pids(run_dir)[killed]
    os.kill(pid, signal.SIGKILL)
    assert wait_ended(store, run_id, timeout=60) == "crashed"
    run = store.run(run_id)
    assert f"rank {killed} of 2 (pid {pid}) ended while the run trained" in run["message"], run["message"]
    wait_for(lambda: not worker_pids(run_dir), timeout=60, what="the other rank to end")
    assert checkpoints.listing(run_dir)  # what was trained before stays resumable
    jobs.resume(run_id, store, max_steps=run["step"] + 4)
    assert wait_ended(store, run_id) == "completed", store.run(run_id)["message"]


def _writer_rank(run_dir: Path) -> int:
    holder = lease.holder(run_dir)
    return next(rank for rank, pid in worker_pids(run_dir).items() if pid == holder["pid"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_two_cores
def test_two_launchers_meet_as_two_nodes_and_one_of_them_writes(tiny_fashion):
    """The multi-node recipe of the README on one machine: gandash launches node 0 (the store's machine),
    a second torchrun is started by hand as the other node; they meet at a c10d rendezvous on 127.0.0.1."""
    store = Store()
    endpoint = f"127.0.0.1:{free_port()}"
    config = make_config("dcgan", "fashion-mnist", nodes=2, rdzv_endpoint=endpoint, max_steps=12, **SMALL)
    run_id = jobs.create(config, store)
    run_dir = Path(store.run(run_id)["run_dir"])
    env = {k: v for k, v in os.environ.items() if k != "GANDASH_WRITER"}
    other = torchrun(
        "--nnodes", "2", "--nproc-per-node", "1", "--node-rank", "1", "--rdzv-backend", "c10d",
        "--rdzv-endpoint", endpoint, "--rdzv-id", run_id, "-m", "gandash", "worker", str(run_dir), env=env,
    )  # fmt: skip
    logs = "".join(f"\n--- {log.name}:\n{log.read_text()[-3000:]}" for log in sorted(run_dir.glob("logs/*.log")))
    assert other.returncode == 0, other.stderr[-1500:] + logs
    assert wait_ended(store, run_id) == "completed", store.run(run_id)["message"]
    assert one_writer(store, run_id)
    assert {v for _, n, v, _ in store.metrics(run_id, names=("processes",))} == {2.0}
    assert checkpoints.step_of(checkpoints.listing(run_dir)[0]) == 12

"""Commands on training runs: start one, list them, look at one, stop, resume, steer and delete it,
and the hidden `worker` that `gandash.runs.jobs` spawns for each background run."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gandash.cli.output import Bar


def add_commands(commands) -> None:
    train = commands.add_parser("train", help="train a GAN (foreground with a progress bar, or --background)")
    train.add_argument("--variant", help="see `variants` (default: dcgan for images, toy for 2D points)")
    train.add_argument("--dataset", default="fashion-mnist", help="see `datasets`")
    train.add_argument("--max-minutes", type=float)
    train.add_argument("--max-steps", type=int)
    train.add_argument("--epochs", type=float)
    train.add_argument("--name", default="")
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any TrainConfig setting, e.g. --set lr_d=1e-4 --set d_steps=2",
    )
    train.add_argument("--background", action="store_true", help="start a background job, print its id, return")
    train.set_defaults(func=cmd_train)

    commands.add_parser("runs", help="list runs").set_defaults(func=cmd_runs)
    show = commands.add_parser("show", help="a run's status, config and latest metrics")
    show.add_argument("run")
    show.set_defaults(func=cmd_show)
    logs = commands.add_parser("logs", help="a run's events and log")
    logs.add_argument("run")
    logs.add_argument("--tail", type=int, default=40)
    logs.set_defaults(func=cmd_logs)
    stop = commands.add_parser("stop", help="stop a running or queued job (it checkpoints first)")
    stop.add_argument("run")
    stop.add_argument("--no-wait", action="store_true")
    stop.set_defaults(func=cmd_stop)
    resume = commands.add_parser("resume", help="continue a stopped or crashed run from its last checkpoint")
    resume.add_argument("run")
    resume.add_argument("--max-steps", type=int)
    resume.add_argument("--max-minutes", type=float)
    resume.add_argument("--epochs", type=float)
    resume.add_argument(
        "--start-over",
        action="store_true",
        help="train the run's settings again from step 0 as a new run (this one stays as it is)",
    )
    resume.set_defaults(func=cmd_resume)
    control = commands.add_parser("control", help="step-by-step: pause a running job, step D or G, continue")
    control.add_argument("run")
    control.add_argument("action", choices=("pause", "continue", "step", "step-d", "step-g"))
    control.set_defaults(func=cmd_control)
    delete = commands.add_parser("delete", help="delete a run that is not running, with its files")
    delete.add_argument("run")
    delete.set_defaults(func=cmd_delete)

    # no help=: argparse then leaves it out of the command list (help=SUPPRESS printed "==SUPPRESS==" there)
    worker = commands.add_parser("worker")
    worker.add_argument("run_dir")
    worker.set_defaults(func=cmd_worker)


def cmd_train(args: argparse.Namespace) -> int:
    from gandash.core import config as config_module
    from gandash.runs import jobs, worker
    from gandash.runs.store import Store
    from gandash.variants import configure

    overrides = config_module.parse_overrides(args.set)
    for key in ("max_steps", "max_minutes", "epochs"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if any(overrides.get(k) is not None for k in ("max_minutes", "epochs")) and "max_steps" not in overrides:
        overrides["max_steps"] = None  # a time or epoch budget replaces the default step budget
    if args.name:
        overrides["name"] = args.name
    config = configure.make_config(args.variant, args.dataset, **overrides)
    store = Store()
    if args.background:
        run_id = jobs.create(config, store)
        run = store.run(run_id)
        print(run_id)
        print(f"{run['status']}; follow it with `python -m gandash show {run_id}`", file=sys.stderr)
        return 0
    if config_module.world_size(config) > 1:
        return _follow(jobs.create(config, store), config, store)
    run_id = jobs.create(config, store, foreground=True)
    print(f"run {run_id} (Ctrl-C stops it after a checkpoint)", file=sys.stderr)
    with Bar(config.total_steps, unit="step") as bar:

        def on_step(step: int, values: dict) -> None:
            if "loss_d" in values and "loss_g" in values:  # evaluation rows carry quality metrics instead
                bar.to(step, loss_d=f"{values['loss_d']:.3f}", loss_g=f"{values['loss_g']:.3f}")
            else:
                bar.to(step)

        status = worker.run(Path(store.run(run_id)["run_dir"]), store, on_step=on_step)
    run = store.run(run_id)
    print(f"{run_id}: {status} at step {run['step']} ({run['message']})")
    return 0 if status in ("completed", "stopped") else 1


def _follow(run_id: str, config, store) -> int:
    """A data-parallel run trains as a background job (torchrun starts its processes); follow it here."""
    import time

    from gandash.runs import jobs
    from gandash.runs.store import ACTIVE

    print(f"run {run_id} trains in {config.processes * config.nodes} processes (Ctrl-C stops it after a checkpoint)")
    try:
        with Bar(config.total_steps, unit="step") as bar:
            while (run := store.run(run_id))["status"] in ACTIVE + ("queued",):
                bar.to(run["step"])
                time.sleep(0.5)
            bar.to(run["step"])
    except KeyboardInterrupt:
        jobs.stop(run_id, store)
    run = store.run(run_id)
    print(f"{run_id}: {run['status']} at step {run['step']} ({run['message']})")
    return 0 if run["status"] in ("completed", "stopped") else 1


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def cmd_runs(args: argparse.Namespace) -> int:
    from gandash.runs import jobs
    from gandash.runs.store import Store

    store = Store()
    jobs.reconcile(store)
    rows = store.runs()
    if not rows:
        print("no runs yet: try `python -m gandash train --variant toy --dataset ring --max-minutes 1`")
        return 0
    print(f"{'id':<44} {'variant':<9} {'dataset':<16} {'status':<10} {'step':>13} {'age':>5}")
    for run in rows:
        total = f"/{run['total_steps']}" if run["total_steps"] else ""
        print(
            f"{run['id']:<44} {run['variant']:<9} {run['dataset'][:16]:<16} {run['status']:<10} "
            f"{str(run['step']) + total:>13} {_age(time.time() - run['created']):>5}"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from gandash.runs import jobs, liveness
    from gandash.runs.store import Store

    store = Store()
    jobs.reconcile(store)
    run = jobs.get(args.run, store)
    print(f"run      {run['id']}  {run['name']}")
    print(f"status   {run['status']}  {run['message']}")
    if liveness.stalled_for(run):
        print(f"         no heartbeat for {liveness.stalled_for(run):.0f} s: {liveness.STALLED}")
    print(f"step     {run['step']}" + (f" of {run['total_steps']}" if run["total_steps"] else ""))
    print(f"device   {run['device']}   folder {run['run_dir']}")
    latest: dict[str, float] = {}
    for _, name, value, _ in store.metrics(args.run, after_step=max(-1, run["step"] - 1000)):
        latest[name] = value
    if latest:
        print("latest   " + "  ".join(f"{k}={v:.4g}" for k, v in latest.items()))
    print("config   " + " ".join(f"{k}={v}" for k, v in run["config"].items() if v not in (None, "")))
    from gandash.core.config import TrainConfig
    from gandash.quality import diagnose

    history = diagnose.history_from_rows(store.metrics(args.run))
    for finding in diagnose.diagnose(history, TrainConfig.from_dict(run["config"])):
        print(f"{finding.severity:<8} {finding.title}\n         {finding.evidence}\n         try: {finding.advice}")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    from gandash.runs import jobs
    from gandash.runs.store import Store

    store = Store()
    run = jobs.get(args.run, store)
    for event in store.events(args.run, limit=args.tail):
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event["time"]))
        print(f"{stamp} {event['level']:<7} {event['text']}")
    log = Path(run["run_dir"]) / "worker.log"
    if log.is_file():
        lines = log.read_text(errors="replace").splitlines()[-args.tail :]
        if lines:
            print(f"--- {log} (last {len(lines)} lines)")
            print("\n".join(lines))
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    from gandash.runs import jobs

    status = jobs.stop(args.run, wait=not args.no_wait)
    print(f"{args.run}: {status}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from gandash.runs import jobs
    from gandash.runs.store import Store

    store = Store()
    jobs.reconcile(store)
    if args.start_over:
        new_id = jobs.start_over(args.run, store)
        print(new_id)
        print(f"started over as run {new_id} ({store.run(new_id)['status']}); {args.run} is unchanged", file=sys.stderr)
        return 0
    jobs.resume(args.run, store, max_steps=args.max_steps, max_minutes=args.max_minutes, epochs=args.epochs)
    print(f"{args.run}: {store.run(args.run)['status']}")
    return 0


def cmd_control(args: argparse.Namespace) -> int:
    from gandash.runs import jobs

    jobs.send(args.run, args.action)
    print(f"{args.run}: sent {args.action}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from gandash.runs import jobs

    jobs.delete(args.run)
    print(f"deleted {args.run}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import os

    from gandash.core import paths
    from gandash.runs import lease

    # RUN_DIR, or a run id: the other machines of a multi-node run know the run by its id only
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir() and paths.is_run_id(args.run_dir):
        run_dir = paths.runs_dir() / args.run_dir
    held = None
    ranks = int(os.environ.get("WORLD_SIZE", "1"))  # torchrun's processes of the run; 1 outside torchrun
    if ranks == 1:  # (in a team of ranks the writer takes the lease once the team has agreed who writes)
        # the lease first, before torch is imported: a second worker on the run leaves within the second
        held = lease.acquire(run_dir.resolve())
        if held is None:
            print(f"another worker holds the lease of {run_dir}; exiting without touching the run", file=sys.stderr)
            return 3
    from gandash.runs import worker

    status = worker.run(run_dir, held=held)
    code = 0 if status in ("completed", "stopped") else 1
    if ranks > 1:
        # A rank ends here without Python's finalization: DDP keeps the gloo process group (and its worker
        # threads) alive past destroy_process_group, and a gloo thread that releases the last collective's
        # tensors while the interpreter finalizes aborts the process ("terminate called without an active
        # exception", pytorch/pytorch#179291), so a finished rank would be reported as crashed. Everything
        # the run keeps is written by now: checkpoints atomically, the store in autocommit.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code

"""Runs as background jobs: the SQLite store, the lease a worker holds, launching, stopping, resuming and
queueing jobs, the worker process itself, metric histories and exports."""

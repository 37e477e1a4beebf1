"""Run every benchmark: ``.venv/bin/python -m benchmarks``."""

from benchmarks import bench_exercises, bench_sensing

bench_sensing.main()
bench_exercises.main()

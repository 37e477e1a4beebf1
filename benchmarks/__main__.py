"""Run every benchmark: ``.venv/bin/python -m benchmarks``."""

from benchmarks import bench_app, bench_exercises, bench_records, bench_report, bench_sensing

if __name__ == "__main__":  # the app benchmark starts processes
    bench_sensing.main()
    bench_exercises.main()
    bench_app.main()
    bench_report.main()
    bench_records.main()

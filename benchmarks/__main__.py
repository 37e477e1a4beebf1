"""Run every benchmark: ``.venv/bin/python -m benchmarks``."""

from benchmarks import (
    bench_acquisition,
    bench_app,
    bench_exercises,
    bench_records,
    bench_report,
    bench_sensing,
    soak,
)

if __name__ == "__main__":  # the app benchmark starts processes
    bench_sensing.main()
    bench_acquisition.main([])
    bench_exercises.main()
    bench_app.main()
    bench_report.main()
    bench_records.main()
    soak.main(["--hours", "8", "--real", "3600"])

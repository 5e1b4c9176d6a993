"""Beside pytest-benchmark's table (host-clock times), one of GB/s and the ratio to the copy bandwidth."""


def pytest_terminal_summary(terminalreporter):
    rows = [value for report in terminalreporter.stats.get("passed", [])
            for key, value in getattr(report, "user_properties", []) if key == "bandwidth"]
    if not rows:
        return
    terminalreporter.write_sep("-", "bandwidth over the median round (host clock, device synchronised)")
    terminalreporter.write_line(f"{'backend':14s} {'op':16s} {'T':>7s} {'H':>5s} {'S':>3s} {'GB/s':>8s} {'of copy':>8s}  device")
    for r in sorted(rows, key=lambda r: (r["op"], r["tokens"], r["backend"])):
        terminalreporter.write_line(f"{r['backend']:14s} {r['op']:16s} {r['tokens']:7d} {r['hidden']:5d} {r['n_splits']:3d} "
                                    f"{r['gbps_median']:8.1f} {100 * r['of_copy']:7.1f}%  {r['device']}"
                                    f" (copy {r['copy_gbps']:.0f} GB/s)")

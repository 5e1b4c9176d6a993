"""``python -m mhc_verify.gsm8k --config ...``: the gsm8k gate without the umbrella CLI."""

from __future__ import annotations

import argparse
import sys

from mhc_verify.gsm8k.cli import add_parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mhc_verify.gsm8k")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    # The only subcommand here: let `python -m mhc_verify.gsm8k --config X` mean `gsm8k-gate --config X`.
    if not argv or argv[0] != "gsm8k-gate":
        argv = ["gsm8k-gate", *argv]
    args = parser.parse_args(argv)
    from mhc_verify.front_door import output_whose_reader_may_go

    with output_whose_reader_may_go():  # a log piped into a filter that dies first: the gate's verdict stands
        return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

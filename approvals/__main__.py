"""python -m approvals runs the command line."""

from approvals.cli import main

main()

"""`python -m innotrial` runs the command line."""

from innotrial.cli import main

main()

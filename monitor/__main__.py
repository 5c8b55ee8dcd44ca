"""`python -m monitor` is the same as the `complaintwatch` command."""

from monitor.cli import main

main()

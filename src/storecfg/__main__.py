"""`python -m storecfg`: the same command line as the `storecfg` console script."""

from storecfg.cli import main

main()

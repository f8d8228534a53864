"""Entry point for ``python -m narrator``."""

from narrator.cli import main

main()

"""``python -m a2gym.cli`` runs the console script."""

from a2gym.cli import main

main()

"""``python -m clipsearch`` runs the command line."""

from clipsearch.cli import main

if __name__ == "__main__":
    main()

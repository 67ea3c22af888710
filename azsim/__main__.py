"""``python -m azsim``: the ``azsim`` command (as its console script, when no script is on PATH)."""
from azsim.cli import main

if __name__ == "__main__":
    main()

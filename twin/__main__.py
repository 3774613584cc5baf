"""`python -m twin`: the `twin` command, for a checkout without the installed script."""

from twin.cli.app import main

if __name__ == "__main__":
    main()

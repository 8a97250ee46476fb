"""`python -m teachloop`: the same command line as the `teachloop` script (and what
`accelerate launch -m teachloop` / `torchrun -m teachloop` start on every rank)."""

from teachloop.cli import main

if __name__ == "__main__":
    main()

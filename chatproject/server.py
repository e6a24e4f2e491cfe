"""`python -m chatproject.server`: the daphne launcher, chatproject.servers.daphne,
under the name deploy units and scripts use."""

import sys

from chatproject.servers.daphne import main

if __name__ == "__main__":
    main(sys.argv[1:])

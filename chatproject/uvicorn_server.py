"""`python -m chatproject.uvicorn_server`: the uvicorn launcher,
chatproject.servers.uvicorn, under the name deploy units and scripts use."""

import sys

from chatproject.servers.uvicorn import main

if __name__ == "__main__":
    main(sys.argv[1:])

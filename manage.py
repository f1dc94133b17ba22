#!/usr/bin/env python
from sekispe.cli import main

if __name__ == "__main__":
    main()

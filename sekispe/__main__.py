from sekispe.cli import main

main()

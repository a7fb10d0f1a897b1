from aligngym.cli import main

main()

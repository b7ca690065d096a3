from keepgreen.cli import main

main()

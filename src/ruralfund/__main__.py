from ruralfund.cli import main

main()

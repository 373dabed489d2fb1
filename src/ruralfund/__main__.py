from ruralfund.entry import main

main()

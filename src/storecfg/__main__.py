from storecfg.cli import main

main()

from balance_board.cli import main

raise SystemExit(main())

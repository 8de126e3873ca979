from ldpy.main import main

raise SystemExit(main())

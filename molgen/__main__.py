from molgen.cli import main

raise SystemExit(main())

from pbx_dialer.cli import main

raise SystemExit(main())

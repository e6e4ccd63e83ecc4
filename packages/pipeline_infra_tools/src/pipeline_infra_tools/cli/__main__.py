from pipeline_infra_tools.cli import main

raise SystemExit(main())
